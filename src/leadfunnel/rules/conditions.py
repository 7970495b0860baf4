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


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _comparable(left: Any, right: Any) -> bool:
    if isinstance(right, datetime):
        return isinstance(left, datetime)
    if isinstance(right, int | float) and not isinstance(right, bool):
        return isinstance(left, int | float) and not isinstance(left, bool)
    return type(left) is type(right)


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
        return lambda facts: (not _empty(facts.get(name))) == wanted
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw:
            raise ValidationError(where, f"'{op}' needs a non-empty list")
        options = [_typed(v, kind, f"{where}[{i}]") for i, v in enumerate(raw)]
        folded = {o.casefold() if isinstance(o, str) else o for o in options}
        inside = op == "in"

        def member(facts: Facts) -> bool:
            value = facts.get(name)
            if _empty(value):
                return False
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
        return lambda facts: (
            _ordered(facts.get(name), low, "ge") and _ordered(facts.get(name), high, "le")
        )
    if op in ("lt", "le", "gt", "ge"):
        bound = _typed(raw, FieldType.NUMBER if kind is FieldType.ANY and not isinstance(raw, str) else
                       (FieldType.DATETIME if kind is FieldType.ANY else kind), where)  # fmt: skip
        return lambda facts: _ordered(facts.get(name), bound, op)
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
    folded_value = value.casefold() if isinstance(value, str) else value
    equal = op == "eq"

    def compare(facts: Facts) -> bool:
        current = facts.get(name)
        if _empty(current) or not _comparable(current, value):
            return False
        current = current.casefold() if isinstance(current, str) else current
        return (current == folded_value) == equal

    return compare


def _text_test(name: str, op: str, needle: str) -> Predicate:
    def test(facts: Facts) -> bool:
        value = facts.get(name)
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


def _ordered(value: Any, bound: Any, op: str) -> bool:
    if _empty(value) or not _comparable(value, bound):
        return False
    if op == "lt":
        return bool(value < bound)
    if op == "le":
        return bool(value <= bound)
    if op == "gt":
        return bool(value > bound)
    return bool(value >= bound)


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
    if key == "all":
        return Condition({"all": trees}, lambda facts: all(test(facts) for test in tests), fields)
    return Condition({"any": trees}, lambda facts: any(test(facts) for test in tests), fields)
