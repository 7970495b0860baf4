"""Random scoring models, leads and touchpoints (hypothesis strategies), for holding the
column-wise scorer equal to ``score_lead``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from leadfunnel.rules.conditions import OPERATORS, FieldType
from leadfunnel.rules.scoring_model import LEAD_FIELDS, OUTCOME_FIELDS, TOUCH_FIELDS

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

TEXTS = ["", "VP Sales", "vp", "Straße", "STRASSE", "ﬁnance", "İstanbul", "retail", "Software",
         "ceo of x", "ß", "Σίσυφος", "page_view", "/pricing", "https://x.io/PRICING?a=1"]  # fmt: skip
EMAILS = [None, "", "a@Gmail.com", "x@ÉXAMPLE.com", "noat", "a@b@gmail.com", "a@", "b@acme.io"]
REGEXES = [r"(?i)\bvp\b", "^s", "ß", r"\d+", "(?i)pricing$", "ς"]
ANY_VALUES = [None, "", 0, 1, 1.5, -2, True, False, "x", "X", "Straße", ["Hot", "x"], [], "12"]
DATES = ["2026-02-01T00:00:00+02:00", "2026-02-20T12:00:00", "2026-03-02T12:00:00+00:00"]
LEAD_TEXT = [n for n, k in LEAD_FIELDS.items() if k is FieldType.TEXT and n != "email_domain"]
AGES = [0, 0.5, 1, 1.5, 2, 29.999, 30, 45.25, 400, -1]  # days before NOW; -1: a future touch


def _moment(age: float) -> datetime:
    return NOW - timedelta(days=age)


def _value(kind: FieldType, op: str) -> st.SearchStrategy[Any]:
    if op == "exists":
        return st.booleans()
    if kind is FieldType.ANY:
        scalar = st.sampled_from([v for v in ANY_VALUES if v is not None and not isinstance(v, list)])
    elif kind is FieldType.NUMBER:
        scalar = st.sampled_from([0, 1, 5, 10, 20.5, 40, 60, 500, -3, 2, 4])
    elif kind is FieldType.BOOL:
        scalar = st.booleans()
    elif kind is FieldType.DATETIME:
        scalar = st.sampled_from(DATES)
    else:
        scalar = st.sampled_from([*TEXTS, "a", "b", "gmail.com", "mql", "lead"])
    if op == "regex":
        return st.sampled_from(REGEXES)
    if op in ("contains", "starts_with", "ends_with"):
        return st.sampled_from([*TEXTS[1:], "a", "ss", "x"])
    if op in ("in", "not_in"):
        return st.lists(scalar, min_size=1, max_size=3)
    if op == "between":
        if kind is FieldType.DATETIME:
            return st.sampled_from([[DATES[0], DATES[2]], [DATES[1], DATES[2]]])
        return st.sampled_from([[0, 10], [5, 600], [-5, 0], [1.5, 1.5]])
    if op in ("lt", "le", "gt", "ge") and kind is FieldType.ANY:
        return st.sampled_from([0, 1, 1.5, 20, DATES[1]])
    return scalar


@st.composite
def leaves(draw: st.DrawFn, fields: dict[str, FieldType], dynamic: str) -> dict[str, Any]:
    names = [*sorted(fields), f"{dynamic}a", f"{dynamic}b"]
    name = draw(st.sampled_from(names))
    kind = fields.get(name, FieldType.ANY)
    op = draw(st.sampled_from([op for op, kinds in OPERATORS.items() if kind in kinds]))
    return {"field": name, "op": op, "value": draw(_value(kind, op))}


def conditions(fields: dict[str, FieldType], dynamic: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaves(fields, dynamic),
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=4,
    )


LEAD_CONDITIONS = conditions(dict(LEAD_FIELDS), "custom_fields.")
TOUCH_CONDITIONS = conditions(dict(TOUCH_FIELDS), "properties.")
OUTCOME_CONDITIONS = conditions(dict(OUTCOME_FIELDS), "custom_fields.")
POINTS = st.sampled_from([-20, -3, 0, 0.1, 3, 10, 15, 2.5, 7.3])


@st.composite
def behaviour_rules(draw: st.DrawFn, i: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": f"b{i}", "points": draw(POINTS), "when": draw(TOUCH_CONDITIONS)}
    if draw(st.booleans()):
        rule["max_points"] = draw(st.sampled_from([1, 15, 30, 0.25, 7.7]))
    if draw(st.booleans()):
        rule["per_period"] = {"points": draw(st.sampled_from([1, 5, 10, 15, 7.5, 0.1, 2.7])),
                              "days": draw(st.sampled_from([0.3, 1, 2.5, 7]))}  # fmt: skip
    if draw(st.booleans()):
        rule["half_life_days"] = draw(st.sampled_from([1, 14, 30, 0.7]))
    return rule


@st.composite
def models(draw: st.DrawFn) -> dict[str, Any]:
    fit = [{"name": f"f{i}", "points": draw(POINTS), "when": draw(LEAD_CONDITIONS)}
           for i in range(draw(st.integers(0, 4)))]  # fmt: skip
    behaviour = [draw(behaviour_rules(i)) for i in range(draw(st.integers(0, 4)))]
    tiers = [{"tier": t, "when": draw(OUTCOME_CONDITIONS)} for t in draw(st.lists(st.sampled_from("AB"), max_size=2))]
    qualify = [{"name": f"q{i}", "to": "mql", "from": draw(st.sampled_from([["lead"], ["lead", "nurture"]])),
                "when": draw(OUTCOME_CONDITIONS)} for i in range(draw(st.integers(0, 2)))]  # fmt: skip
    doc: dict[str, Any] = {"name": "m", "fit": fit, "behaviour": behaviour, "qualify": qualify,
                           "priority": [*tiers, {"tier": "C"}]}  # fmt: skip
    if draw(st.booleans()):
        doc["half_life_days"] = draw(st.sampled_from([30, 2, 0.9]))
    if draw(st.booleans()):
        doc["applies_to"] = draw(LEAD_CONDITIONS)
    return doc


@st.composite
def lead_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        name: draw(st.sampled_from([None, *TEXTS])) for name in draw(st.sets(st.sampled_from(LEAD_TEXT), max_size=6))
    }  # fmt: skip
    row["email"] = draw(st.sampled_from(EMAILS))
    row["stage"] = draw(st.sampled_from(["lead", "nurture", "mql"]))
    row["company_size"] = draw(st.sampled_from([None, 0, 5, 100, 499, 500, 10_000]))
    row["in_pool"] = draw(st.sampled_from([None, True, False]))
    row["created_at"] = draw(st.sampled_from([None, *(_moment(a) for a in AGES)]))
    row["custom_fields"] = draw(st.dictionaries(st.sampled_from("abc"), st.sampled_from(ANY_VALUES), max_size=3))
    return row


@st.composite
def touch_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "kind": draw(st.sampled_from([None, "page_view", "Page_View", "download", "ß", ""])),
        "url": draw(st.sampled_from([None, "", "/pricing", "https://x.io/PRICING?a=1", "/blog"])),
        "channel": draw(st.sampled_from([None, "email", "Straße"])),
        "campaign": draw(st.sampled_from([None, "spring", "VP"])),
        "at": _moment(draw(st.sampled_from(AGES))),
        "properties": draw(st.dictionaries(st.sampled_from("ab"), st.sampled_from(ANY_VALUES), max_size=2)),
    }
