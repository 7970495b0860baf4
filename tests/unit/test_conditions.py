"""The condition language: validation errors name the place, evaluation follows the table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.conditions import FieldType, compile_condition

SCHEMA = {
    "title": FieldType.TEXT,
    "company_size": FieldType.NUMBER,
    "industry": FieldType.TEXT,
    "created_at": FieldType.DATETIME,
    "in_pool": FieldType.BOOL,
    "tags": FieldType.LIST,
}


def holds(tree, facts) -> bool:
    return compile_condition(tree, schema=SCHEMA, dynamic=("custom_fields.",)).holds(facts)


def leaf(field, op, value):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("tree", "facts", "expected"),
    [
        (leaf("company_size", "gt", 500), {"company_size": 800}, True),
        (leaf("company_size", "gt", 500), {"company_size": 500}, False),
        (leaf("company_size", "ge", 500), {"company_size": 500}, True),
        (leaf("company_size", "between", [10, 50]), {"company_size": 50}, True),
        (leaf("company_size", "between", [10, 50]), {"company_size": 51}, False),
        (leaf("industry", "eq", "Retail"), {"industry": "retail"}, True),
        (leaf("industry", "ne", "retail"), {"industry": "banking"}, True),
        (leaf("industry", "in", ["banking", "retail"]), {"industry": "RETAIL"}, True),
        (leaf("industry", "not_in", ["banking", "retail"]), {"industry": "energy"}, True),
        (leaf("title", "contains", "sales"), {"title": "VP Sales EMEA"}, True),
        (leaf("title", "starts_with", "vp"), {"title": "VP Sales"}, True),
        (leaf("title", "ends_with", "emea"), {"title": "VP Sales"}, False),
        (leaf("title", "regex", r"(?i)\b(ceo|vp)\b"), {"title": "Regional VP"}, True),
        (leaf("title", "regex", r"(?i)\b(ceo|vp)\b"), {"title": "VPN admin"}, False),
        (leaf("tags", "contains", "hot"), {"tags": ["Hot", "trial"]}, True),
        (
            leaf("created_at", "lt", "2025-06-01T00:00:00+00:00"),
            {"created_at": datetime(2025, 5, 1, tzinfo=UTC)},
            True,
        ),
        (leaf("in_pool", "eq", True), {"in_pool": True}, True),
        (leaf("custom_fields.budget", "ge", 1000), {"custom_fields.budget": 5000}, True),
        (leaf("custom_fields.budget", "ge", 1000), {"custom_fields.budget": "lots"}, False),
        (leaf("custom_fields.tags", "in", ["vip"]), {"custom_fields.tags": ["vip", "x"]}, False),
        (leaf("custom_fields.tags", "not_in", ["vip"]), {"custom_fields.tags": {"a": 1}}, False),
        # empty fields match only exists = false, even for ne and not_in
        (leaf("industry", "ne", "retail"), {"industry": None}, False),
        (leaf("industry", "not_in", ["retail"]), {}, False),
        (leaf("industry", "exists", False), {"industry": ""}, True),
        (leaf("industry", "exists", True), {"industry": "retail"}, True),
        ({"not": leaf("industry", "eq", "retail")}, {}, True),
        (
            {"all": [leaf("title", "contains", "vp"), leaf("company_size", "ge", 500)]},
            {"title": "VP"},
            False,
        ),
        (
            {"any": [leaf("title", "contains", "vp"), leaf("company_size", "ge", 500)]},
            {"title": "VP"},
            True,
        ),
        ({"all": []}, {}, True),
        ({"any": []}, {}, False),
        # values of another type never compare: true/false is not a number, 5 is not text
        (leaf("company_size", "eq", 1), {"company_size": True}, False),
        (leaf("custom_fields.n", "eq", "5"), {"custom_fields.n": 5}, False),
        (leaf("custom_fields.n", "ge", 1), {"custom_fields.n": "9"}, False),
        (leaf("custom_fields.flag", "eq", True), {"custom_fields.flag": 1}, False),
        (leaf("custom_fields.flag", "in", [True]), {"custom_fields.flag": True}, True),
        (
            leaf("created_at", "between", ["2025-01-01T00:00:00+00:00", "2025-12-31T00:00:00+00:00"]),
            {"created_at": datetime(2025, 5, 1, tzinfo=UTC)},
            True,
        ),
        (leaf("created_at", "gt", "2025-01-01T00:00:00"), {"created_at": "2026-01-01"}, False),
        (
            {"all": [leaf("title", "contains", "vp"), leaf("company_size", "ge", 5), leaf("in_pool", "eq", False)]},
            {"title": "VP", "company_size": 9, "in_pool": False},
            True,
        ),
        ({"any": [leaf("title", "eq", "x")]}, {"title": "X"}, True),
        (leaf("title", "eq", "STRASSE"), {"title": "straße"}, True),  # case folding, not lower()
    ],
)
def test_each_operator_evaluates_as_documented(tree, facts, expected):
    assert holds(tree, facts) is expected


@pytest.mark.parametrize(
    ("tree", "field", "words"),
    [
        (leaf("revenue", "gt", 1), "when.field", "unknown field 'revenue'"),
        (leaf("title", "gt", 1), "when.op", "does not apply to text field 'title'"),
        (leaf("title", "like", "x"), "when.op", "'like' is not an operator"),
        (leaf("company_size", "gt", "big"), "when.value", "'big' is not a number"),
        (leaf("company_size", "between", [50, 10]), "when.value", "above high"),
        (leaf("title", "regex", "(unclosed"), "when.value", "bad regular expression"),
        (leaf("industry", "in", []), "when.value", "non-empty list"),
        (leaf("created_at", "lt", "yesterday"), "when.value", "not an ISO date-time"),
        ({"field": "title", "op": "eq"}, "when.value", "needs a value"),
        (
            {"all": [leaf("title", "eq", "x"), leaf("size", "eq", 1)]},
            "when.all[1].field",
            "unknown field 'size'",
        ),
        ({"all": leaf("title", "eq", "x")}, "when.all", "must be a list"),
        ({"all": [], "any": []}, "when", "exactly one key"),
        (
            {"not": {"field": "title", "op": "eq", "value": "x", "weight": 2}},
            "when.not.weight",
            "not part of a condition",
        ),
        ("title = 'x'", "when", "must be a table"),
    ],
)
def test_a_bad_condition_is_refused_naming_where(tree, field, words):
    with pytest.raises(ValidationError) as caught:
        compile_condition(tree, schema=SCHEMA)
    assert caught.value.field == field and words in caught.value.reason


def test_an_overlong_regex_is_refused():
    with pytest.raises(ValidationError, match="at most 200 characters"):
        compile_condition(leaf("title", "regex", "a" * 201), schema=SCHEMA)


def test_the_fields_a_condition_reads_are_listed():
    tree = {"any": [leaf("title", "eq", "x"), {"not": leaf("company_size", "gt", 3)}]}
    assert compile_condition(tree, schema=SCHEMA).fields == {"title", "company_size"}
