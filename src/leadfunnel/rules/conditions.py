"""The one condition language of scoring, routing, SLA policies, stage gates and alerts.

A condition is data (a TOML/YAML/JSON tree), validated once against the fields it may read,
then compiled into a plain Python predicate. Nothing is ever ``eval``-ed.

Shapes::

    {field = "company_size", op = "gt", value = 500}
    {all = [cond, cond, ...]}        # every one holds (an empty list holds)
    {any = [cond, cond, ...]}        # at least one holds
    {not = cond}

Operators (``op``) and the field types they accept:

==============================  ==================================  ==========================
op                              value                               field types
==============================  ==================================  ==========================
``eq``, ``ne``                  one value of the field's type       any
``lt``, ``le``, ``gt``, ``ge``  a number or an ISO date-time        number, datetime
``between``                     ``[low, high]``, both included      number, datetime
``in``, ``not_in``              a list of values                    text, number, bool
``contains``                    text (case-insensitive)             text, list
``starts_with``, ``ends_with``  text (case-insensitive)             text
``regex``                       a Python regular expression         text
``exists``                      ``true`` / ``false``                any
==============================  ==================================  ==========================

Empty fields. A field that is missing or empty (``None``, ``""``) matches only
``exists = false``; every other operator is false for it, ``ne`` and ``not_in`` included.
Wrap in ``not`` to match "anything but X, or empty".

Worked example: ``{all = [{field = "title", op = "regex", value = "(?i)\\b(ceo|vp)\\b"},
{field = "company_size", op = "ge", value = 500}]}`` holds for a lead titled "VP Sales" at a
company of 800, not for one titled "VP Sales" whose company size is unknown.

Errors name where the problem is: ``when.all[1].value: 'abc' is not a number``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from leadfunnel.domain.errors import ValidationError

__all__ = ["OPERATORS", "Condition", "FieldType", "compile_condition"]


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    DATETIME = "datetime"
    LIST = "list"
    ANY = "any"  # custom fields: checked when evaluated, a mismatch is simply false


_ORDERED = {FieldType.NUMBER, FieldType.DATETIME, FieldType.ANY}
_SCALAR = {FieldType.TEXT, FieldType.NUMBER, FieldType.BOOL, FieldType.ANY}
_TEXTUAL = {FieldType.TEXT, FieldType.ANY}
OPERATORS: dict[str, set[FieldType]] = {
    "eq": set(FieldType),
    "ne": set(FieldType),
    "lt": _ORDERED,
    "le": _ORDERED,
    "gt": _ORDERED,
    "ge": _ORDERED,
    "between": _ORDERED,
    "in": _SCALAR,
    "not_in": _SCALAR,
    "contains": {FieldType.TEXT, FieldType.LIST, FieldType.ANY},
    "starts_with": _TEXTUAL,
    "ends_with": _TEXTUAL,
    "regex": _TEXTUAL,
    "exists": set(FieldType),
}
MAX_REGEX = 200  # characters in a pattern: rules are short, and long patterns invite backtracking
MAX_TEXT = 2000  # characters of a value a regex looks at
MAX_DEPTH = 12

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


@dataclass(frozen=True)
class Condition:
    """A validated condition: ``tree`` as given (normalised), ``holds(facts)`` to evaluate."""

    tree: Mapping[str, Any]
    holds: Predicate
    fields: frozenset[str]


def _field_type(name: str, schema: Mapping[str, FieldType], dynamic: tuple[str, ...]) -> FieldType:
    if name in schema:
        return schema[name]
    if any(name.startswith(prefix) and len(name) > len(prefix) for prefix in dynamic):
        return FieldType.ANY
    return FieldType.ANY if not schema else _unknown(name, schema, dynamic)


def _unknown(name: str, schema: Mapping[str, FieldType], dynamic: tuple[str, ...]) -> FieldType:
    known = sorted(schema) + [f"{p}NAME" for p in dynamic]
    raise ValidationError("field", f"unknown field '{name}'; known fields: {', '.join(known)}")


def _as_datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(where, f"'{value}' is not an ISO date-time") from None
    else:
        raise ValidationError(where, f"{value!r} is not an ISO date-time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _typed(value: Any, kind: FieldType, where: str) -> Any:
    """``value`` checked (and, for date-times, parsed) for a field of type ``kind``."""
    if kind is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(where, f"{value!r} is not a number")
        return value
    if kind is FieldType.DATETIME:
        return _as_datetime(value, where)
    if kind is FieldType.BOOL:
        if not isinstance(value, bool):
            raise ValidationError(where, f"{value!r} is not true or false")
        return value
    if kind in (FieldType.TEXT, FieldType.LIST):
        if not isinstance(value, str):
            raise ValidationError(where, f"{value!r} is not text")
        return value
    if not isinstance(value, str | int | float | bool):
        raise ValidationError(where, f"{value!r} is not a text, number or true/false value")
    return value


def _leaf(tree: Mapping[str, Any], where: str, schema: Mapping[str, FieldType],
          dynamic: tuple[str, ...]) -> Condition:  # fmt: skip
    extra = sorted(set(tree) - {"field", "op", "value"})
    if extra:
        raise ValidationError(
            f"{where}.{extra[0]}", "is not part of a condition (field, op, value)"
        )
    name, op = tree.get("field"), tree.get("op")
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{where}.field", "must name a field")
    try:
        kind = _field_type(name, schema, dynamic)
    except ValidationError as exc:
        raise ValidationError(f"{where}.field", exc.reason) from None
    if op not in OPERATORS:
        raise ValidationError(
            f"{where}.op", f"{op!r} is not an operator; expected one of: {', '.join(OPERATORS)}"
        )
    if kind not in OPERATORS[op]:
        raise ValidationError(
            f"{where}.op", f"'{op}' does not apply to {kind.value} field '{name}'"
        )
    if "value" not in tree:
        raise ValidationError(f"{where}.value", f"'{op}' needs a value")
    predicate = _predicate(name, str(op), tree["value"], kind, f"{where}.value")
    return Condition(dict(tree), predicate, frozenset([name]))  # fmt: skip


def _predicate(name: str, op: str, raw: Any, kind: FieldType, where: str) -> Predicate:
    if op == "exists":
        wanted = _typed(raw, FieldType.BOOL, where)
        return lambda facts: ((v := facts.get(name)) is not None and v != "") == wanted
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw:
            raise ValidationError(where, f"'{op}' needs a non-empty list")
        options = [_typed(v, kind, f"{where}[{i}]") for i, v in enumerate(raw)]
        folded = {o.casefold() if isinstance(o, str) else o for o in options}
        inside = op == "in"

        def member(facts: Facts) -> bool:
            value = facts.get(name)
            if value is None or value == "" or not isinstance(value, str | int | float | bool):
                return False  # empty, or not one value (a custom field may hold a list)
            key = value.casefold() if isinstance(value, str) else value
            return (key in folded) == inside

        return member
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValidationError(where, "'between' needs [low, high]")
        low_kind = FieldType.NUMBER if kind is FieldType.ANY else kind
        low, high = (_typed(v, low_kind, f"{where}[{i}]") for i, v in enumerate(raw))
        if low > high:
            raise ValidationError(where, f"low {raw[0]!r} is above high {raw[1]!r}")
        like_bounds = _same_kind(low)
        return lambda facts: (
            like_bounds(v := facts.get(name)) and bool(v >= low) and bool(v <= high)
        )
    if op in ("lt", "le", "gt", "ge"):
        bound = _typed(raw, FieldType.NUMBER if kind is FieldType.ANY and not isinstance(raw, str) else
                       (FieldType.DATETIME if kind is FieldType.ANY else kind), where)  # fmt: skip
        like_bound, before = _same_kind(bound), _ORDER[op]
        return lambda facts: like_bound(v := facts.get(name)) and bool(before(v, bound))
    if op == "regex":
        pattern = _typed(raw, FieldType.TEXT, where)
        if len(pattern) > MAX_REGEX:
            raise ValidationError(where, f"a pattern may have at most {MAX_REGEX} characters")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValidationError(where, f"bad regular expression {pattern!r}: {exc}") from None
        return lambda facts: (
            isinstance(v := facts.get(name), str) and bool(compiled.search(v[:MAX_TEXT]))
        )
    if op in ("contains", "starts_with", "ends_with"):
        needle = _typed(raw, FieldType.TEXT, where).casefold()
        return _text_test(name, op, needle)
    value = _typed(raw, kind, where)
    equal = op == "eq"
    if isinstance(value, str):  # the common case, kept to one type test and one casefold
        folded_value = value.casefold()

        def compare_text(facts: Facts) -> bool:
            current = facts.get(name)
            if type(current) is not str or current == "":
                return False
            return (current.casefold() == folded_value) == equal

        return compare_text
    like_value = _same_kind(value)

    def compare(facts: Facts) -> bool:
        current = facts.get(name)
        return like_value(current) and (current == value) == equal

    return compare


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}  # fmt: skip


def _same_kind(bound: Any) -> Callable[[Any], bool]:
    """A test that a fact is not empty (``None``, ``""``) and compares with ``bound``: a
    date-time with date-times, a number with numbers (not true/false), anything else with
    values of its own type. Chosen once per condition, not per evaluation."""
    if isinstance(bound, datetime):
        return lambda v: isinstance(v, datetime)
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    kind = type(bound)
    return lambda v: type(v) is kind and v != ""


def _text_test(name: str, op: str, needle: str) -> Predicate:
    def test(facts: Facts) -> bool:
        value = facts.get(name)
        if type(value) is str:
            if value == "":
                return False
            text = value.casefold()
            if op == "contains":
                return needle in text
            return text.startswith(needle) if op == "starts_with" else text.endswith(needle)
        if isinstance(value, list | tuple | frozenset | set):
            return op == "contains" and any(
                isinstance(v, str) and v.casefold() == needle for v in value
            )
        if not isinstance(value, str) or value == "":
            return False
        text = value.casefold()
        if op == "contains":
            return needle in text
        return text.startswith(needle) if op == "starts_with" else text.endswith(needle)

    return test


def compile_condition(
    tree: Any,
    *,
    schema: Mapping[str, FieldType],
    dynamic: tuple[str, ...] = (),
    where: str = "when",
    depth: int = 0,
) -> Condition:
    """Validate ``tree`` against ``schema`` (field name -> type; names starting with one of
    ``dynamic``, e.g. ``custom_fields.``, are free-form) and compile it.

    An empty ``schema`` accepts any field name as :attr:`FieldType.ANY`."""
    if depth > MAX_DEPTH:
        raise ValidationError(where, f"conditions may nest at most {MAX_DEPTH} levels")
    if not isinstance(tree, Mapping):
        raise ValidationError(
            where,
            "must be a table: {field, op, value}, {all = [...]}, {any = [...]} or {not = ...}",
        )
    groups = [key for key in ("all", "any", "not") if key in tree]
    if not groups:
        return _leaf(tree, where, schema, dynamic)
    if len(groups) > 1 or len(tree) > 1:
        raise ValidationError(where, "a group has exactly one key: all, any or not")
    key = groups[0]
    if key == "not":
        inner = compile_condition(
            tree["not"], schema=schema, dynamic=dynamic, where=f"{where}.not", depth=depth + 1
        )
        return Condition({"not": inner.tree}, lambda facts: not inner.holds(facts), inner.fields)
    items = tree[key]
    if not isinstance(items, list):
        raise ValidationError(f"{where}.{key}", "must be a list of conditions")
    parts = [compile_condition(item, schema=schema, dynamic=dynamic, where=f"{where}.{key}[{i}]", depth=depth + 1)
             for i, item in enumerate(items)]  # fmt: skip
    tests = tuple(part.holds for part in parts)
    fields = frozenset().union(*(part.fields for part in parts))
    trees = [part.tree for part in parts]
    return Condition({key: trees}, _every(tests) if key == "all" else _some(tests), fields)


def _every(tests: tuple[Predicate, ...]) -> Predicate:
    """``all(test(facts) for test in tests)``, without a generator per call."""
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda facts: first(facts) and second(facts)

    def every(facts: Facts) -> bool:
        for test in tests:  # noqa: SIM110 - a loop, not all(generator): no generator per call
            if not test(facts):
                return False
        return True

    return every


def _some(tests: tuple[Predicate, ...]) -> Predicate:
    """``any(test(facts) for test in tests)``, without a generator per call."""
    if len(tests) == 1:
        return tests[0]

    def some(facts: Facts) -> bool:
        for test in tests:  # noqa: SIM110 - a loop, not any(generator): no generator per call
            if test(facts):
                return True
        return False

    return some
