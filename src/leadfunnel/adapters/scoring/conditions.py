"""Condition trees evaluated column-wise: one boolean per row of a frame of facts.

The semantics are those of :mod:`leadfunnel.rules.conditions`, row for row; the tests hold
the two equal on random facts. How each leaf is evaluated:

* number, true/false and date-time columns natively with polars (comparisons, ``between``,
  ``in``, ``eq``, ``ne``, ``exists``);
* text columns, and free-form fields (``custom_fields.NAME``, ``properties.NAME``, held as
  JSON text), by running the pure predicate once per *distinct* value of the column and
  matching rows by value: the exact Python semantics (case folding, regular expressions)
  at the cost of the column's cardinality, not its length. Touch columns such as ``kind``
  and ``url`` have a few dozen distinct values among millions of rows.

An empty field (missing, null, ``""``) matches only ``exists = false``, as in the pure
interpreter. One difference: where the interpreter raises (``in``/``not_in`` on a custom
field whose value is a list), the leaf is false here. Worked example: over titles ``["VP Sales", None, "vpn admin"]`` the leaf
``{field = "title", op = "regex", value = "(?i)\\bvp\\b"}`` runs the regular expression on
the two distinct titles and gives ``[true, false, false]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from leadfunnel.rules.conditions import Condition, FieldType, compile_condition

__all__ = ["FrameConditions", "python_map"]

_NON_ASCII = r"[^\x00-\x7F]"


def python_map(series: pl.Series, fn: Callable[[str], Any], dtype: pl.DataType) -> pl.Series:
    """``fn`` over a text column, run in Python only for its distinct non-ASCII values;
    ASCII values take the polars lower-case (``fn`` must agree with it on ASCII text)."""
    lower = series.str.to_lowercase()
    odd = series.str.contains(_NON_ASCII).fill_null(False)
    if not odd.any():
        return lower.cast(dtype)
    values = series.filter(odd).unique().to_list()
    mapped = pl.Series([fn(v) for v in values], dtype=dtype)
    replaced = series.replace_strict(pl.Series(values, dtype=pl.String), mapped, default=None)
    return pl.select(pl.when(odd).then(replaced).otherwise(lower.cast(dtype))).to_series()


class FrameConditions:
    """Evaluates condition trees over ``frame``, whose columns are named like the facts the
    conditions read (``schema`` and ``dynamic`` as given to ``compile_condition``).

    Free-form fields (names starting with one of ``dynamic``) are columns of JSON text, one
    value per row (null when the row lacks the field). Leaf results are cached, so rules
    repeating a leaf (``kind eq "page_view"``) pay for it once."""

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        schema: Mapping[str, FieldType],
        dynamic: tuple[str, ...] = (),
    ) -> None:
        self.frame = frame
        self.schema = schema
        self.dynamic = dynamic
        self._leaves: dict[str, pl.Series] = {}
        self._distinct: dict[str, list[Any]] = {}

    def holds(self, condition: Condition | Mapping[str, Any]) -> pl.Series:
        """One boolean per row (never null): does the condition hold for that row?"""
        tree = condition.tree if isinstance(condition, Condition) else condition
        return self._tree(tree)

    def _constant(self, value: bool) -> pl.Series:
        return pl.repeat(value, self.frame.height, dtype=pl.Boolean, eager=True).rename("holds")

    def _tree(self, tree: Mapping[str, Any]) -> pl.Series:
        if "not" in tree:
            return ~self._tree(tree["not"])
        if "all" in tree or "any" in tree:
            every = "all" in tree
            parts = [self._tree(part) for part in tree["all" if every else "any"]]
            if not parts:
                return self._constant(every)
            result = parts[0]
            for part in parts[1:]:
                result = (result & part) if every else (result | part)
            return result
        key = json.dumps(tree, sort_keys=True, default=str)
        if key not in self._leaves:
            self._leaves[key] = self._leaf(tree).fill_null(False).rename("holds")
        return self._leaves[key]

    def _kind(self, name: str) -> FieldType:
        if name in self.schema:
            return self.schema[name]
        return FieldType.ANY  # a dynamic field: the condition was validated on import

    def _leaf(self, tree: Mapping[str, Any]) -> pl.Series:
        name, op, raw = str(tree["field"]), str(tree["op"]), tree["value"]
        kind = self._kind(name)
        pure = compile_condition(tree, schema=self.schema, dynamic=self.dynamic)
        if name not in self.frame.columns:  # no row has the field
            return self._constant(_safely(pure, {}))
        column = self.frame.get_column(name)
        if kind in (FieldType.TEXT, FieldType.ANY, FieldType.LIST):
            if name not in self._distinct:
                self._distinct[name] = column.drop_nulls().unique().to_list()
            decode = None if kind is FieldType.TEXT else json.loads
            return _by_values(column, name, pure, self._distinct[name], decode)
        present = column.is_not_null()
        if op == "exists":
            return present if raw else ~present
        value: Any = _bound(pure, kind)
        return present & _compare(column, op, value, kind)


def _by_values(
    column: pl.Series,
    name: str,
    pure: Condition,
    distinct: list[Any],
    decode: Callable[[Any], Any] | None,
) -> pl.Series:
    """The pure predicate run once per distinct value of ``column`` (``distinct``)."""
    matching = [v for v in distinct if _safely(pure, {name: decode(v) if decode else v})]
    inside = column.is_in(pl.Series(matching, dtype=column.dtype).implode())
    return pl.select(
        pl.when(column.is_null()).then(_safely(pure, {})).otherwise(inside)
    ).to_series()


def _safely(pure: Condition, facts: Mapping[str, Any]) -> bool:
    """The predicate, false where the interpreter raises: ``in`` on a list-valued custom
    field is a TypeError there (a list is not hashable); a pass over every lead must not
    stop on one odd value."""
    try:
        return pure.holds(facts)
    except TypeError:
        return False


def _moment(value: Any) -> datetime:
    """A validated date-time bound, as the interpreter reads it (naive means UTC), in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _bound(pure: Condition, kind: FieldType) -> Any:
    """The leaf's value as the pure interpreter types it (date-times parsed)."""
    op, raw = pure.tree["op"], pure.tree["value"]
    if kind is not FieldType.DATETIME:
        return raw
    return [_moment(v) for v in raw] if op == "between" else _moment(raw)


def _compare(column: pl.Series, op: str, value: Any, kind: FieldType) -> pl.Series:
    """A typed (number, true/false, date-time) column against the leaf's value; the column
    is non-null where this is used."""
    if op in ("in", "not_in"):
        if kind is FieldType.NUMBER:
            inside = column.cast(pl.Float64).is_in([float(v) for v in value])
        else:  # true/false: Python's ``in`` on a set of bools
            inside = column.is_in([bool(v) for v in value])
        return inside if op == "in" else ~inside
    if op == "between":
        low, high = value
        within: pl.Series = (column >= low) & (column <= high)
        return within
    compare = {
        "eq": column.__eq__, "ne": column.__ne__, "lt": column.__lt__, "le": column.__le__,
        "gt": column.__gt__, "ge": column.__ge__,
    }[op]  # fmt: skip
    result: pl.Series = compare(value)
    return result
