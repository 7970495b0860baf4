"""Binding rows for SQLite without SQLAlchemy Core's per-parameter bookkeeping.

Bulk paths (imports, intake batches, scoring) insert and update many rows at once; on
SQLite, Core's work per bound value dominates such statements. The plans here bind values
with exactly the processors SQLAlchemy would apply, so rows read back as Core would have
written them (a test compares them byte for byte).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Dialect, Table

from leadfunnel.adapters.sql.types import UTCDateTime

__all__ = ["Processor", "SqliteInsertPlan", "sqlite_insert_plan", "sqlite_processors"]


@dataclass(frozen=True)
class SqliteInsertPlan:
    """How rows with a given set of keys are bound into positional SQLite INSERTs.

    The processors are the ones SQLAlchemy itself applies (see :func:`sqlite_processors`),
    so rows written here read back exactly like rows written by Core; what this saves is
    Core's per-parameter bookkeeping, which dominates bulk inserts. Also, a ``None`` that
    would be bound as NULL in a column without a server default is left out of the
    statement (the column is NULL all the same): Python's ``sqlite3`` binds ``None``
    through its adapter protocol, several times slower than a string, and a lead row is
    mostly NULLs. Rows are grouped by the columns they fill: one ``executemany`` per group.
    """

    table: Table
    names: tuple[str, ...]
    processors: tuple[Processor | None, ...]
    #: Positions whose ``None`` is left out (no server default would replace the NULL).
    omittable: frozenset[int]
    #: A row's values in the order of ``names``.
    values_of: Callable[[Mapping[str, Any]], tuple[Any, ...]]

    def sql(self, positions: tuple[int, ...]) -> str:
        quoted = ", ".join(f'"{self.names[i]}"' for i in positions)
        marks = ", ".join("?" * len(positions))
        # Names come from the declared tables, never from input; values are bound parameters.
        return f'INSERT INTO "{self.table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608

    def bind(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[int, ...], list[tuple[Any, ...]]]:
        """The rows' parameters, grouped by the positions they bind. The work is done column
        by column, so the per-value loops run in C."""
        shapes: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
        for values in map(self.values_of, rows):
            shapes.setdefault(tuple(map(operator.is_not, values, _NONES)), []).append(values)
        groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
        for shape, tuples in shapes.items():
            positions = tuple(
                i for i, filled in enumerate(shape) if filled or i not in self.omittable
            )
            columns = list(zip(*tuples, strict=True))
            bound = [
                columns[i] if (proc := self.processors[i]) is None else map(proc, columns[i])
                for i in positions
            ]
            groups[positions] = list(zip(*bound, strict=True))
        return groups


Processor = Callable[[Any], Any]
_NONES = itertools.repeat(None)


@functools.lru_cache(maxsize=256)
def sqlite_insert_plan(dialect: Dialect, table: Table, names: tuple[str, ...]) -> SqliteInsertPlan:
    processors = sqlite_processors(dialect, table, names)
    omittable = frozenset(
        i
        for i, (name, proc) in enumerate(zip(names, processors, strict=True))
        if table.c[name].server_default is None and (proc is None or proc(None) is None)
    )  # (a JSON column binds None as the JSON text null, so it keeps its None)
    pick = operator.itemgetter(*names)  # a tuple for two names or more, else the value
    values_of = pick if len(names) > 1 else lambda row: (pick(row),)
    return SqliteInsertPlan(table, names, processors, omittable, values_of)


@functools.lru_cache(maxsize=256)
def sqlite_processors(
    dialect: Dialect, table: Table, names: tuple[str, ...]
) -> tuple[Processor | None, ...]:
    """The bind processor SQLAlchemy applies to each column (UUID to hex, UTC time to text,
    JSON to text), except that UTC times are formatted once per distinct value: a batch
    repeats a few instants (now, touch times) in many rows and columns, and formatting is
    the costliest of these conversions; and the empty JSON object most documents are (a
    lead's custom fields) is encoded once."""
    processors: list[Processor | None] = []
    for name in names:
        column_type = table.c[name].type
        process: Processor | None = column_type._cached_bind_processor(dialect)
        if isinstance(column_type, UTCDateTime):
            process = _utc_text(dialect)
        elif isinstance(column_type, JSON) and process is not None:
            process = _with_empty_object(process)
        processors.append(process)
    return tuple(processors)


def _with_empty_object(process: Processor) -> Processor:
    empty = process({})

    def encode(value: Any) -> Any:
        return empty if type(value) is dict and not value else process(value)

    return encode


@functools.lru_cache(maxsize=8)
def _utc_text(dialect: Dialect) -> Processor:
    process = UTCDateTime()._cached_bind_processor(dialect)
    assert process is not None
    return functools.lru_cache(maxsize=4096)(process)
