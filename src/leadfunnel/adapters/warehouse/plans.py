"""Compiled questions: the SQL of each question, compiled by Ibis once per process.

Building a question's Ibis expression and compiling it to SQL costs 10 to 50 ms on every
ask (a fifth to a half of a warm lifecycle funnel over a million leads on DuckDB), yet the
SQL depends only on the question's spec and the store's table shapes, never on the data:
the builders are pure (``top_n`` is applied to the rows afterwards). The inputs that
change between asks of the same question are ``now``, which the builders write as a
timestamp literal, and the period's first and last day (a dashboard's period, a funnel's
creation range), which they write as date literals. So a plan is compiled with stand-ins
whose literals are then replaced by the query parameters ``$now``, ``$first_day`` and
``$last_day``; the next ask runs the stored SQL with its own values, as if it had compiled
it. The caller keys a question by its spec with the period's days swapped for the
stand-ins (:data:`FIRST_DAY`, :data:`LAST_DAY`), so every period shares one plan.

A plan is found by a key the caller gives (the question's name and its frozen spec, plus
any page bounds); plans of the least recently asked keys are dropped beyond
:data:`CAPACITY`. The store's table shapes change only when a full sync rebuilds it with
another layout, so the engine forgets every plan after a full sync (:meth:`Plans.clear`).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime
from typing import Any

import ibis

from leadfunnel.analytics.drill import DrillSpec
from leadfunnel.analytics.funnel_spec import FunnelSpec
from leadfunnel.analytics.kpi_spec import KpiSpec

__all__ = ["CAPACITY", "FIRST_DAY", "LAST_DAY", "STAND_IN", "Plans", "periodless"]

#: Plans kept per engine: a dashboard asks four questions, the explorer one or two per view.
CAPACITY = 256
#: The ``now`` plans are compiled with: naive UTC, as the DuckDB store keeps times, and a
#: moment no stored time or spec date can spell.
STAND_IN = datetime(2999, 1, 2, 3, 4, 5, 678901)
#: Stand-ins for a period's first and last day (dates no spec can name).
FIRST_DAY = date(2999, 3, 4)
LAST_DAY = date(2999, 5, 6)
#: A stand-in's day in any other spelling (``MAKE_DATE(2999, 1, 2)`` from ``now.date()``,
#: an ISO string), looked for after the replacement; a user's text holding "2999" is fine.
_LEFT_OVER = ("2999, 1, 2", "2999-01-02", "2999, 3, 4", "2999-03-04", "2999, 5, 6", "2999-05-06")
#: Each stand-in's literal as Ibis writes it for DuckDB, and the parameter replacing it.
_PARAMETERS = (
    (re.compile(r"MAKE_TIMESTAMP\(2999, 1, 2, 3, 4, 5\.678901\)"), "now", "TIMESTAMP"),
    (re.compile(r"MAKE_DATE\(2999, 3, 4\)"), "first_day", "DATE"),
    (re.compile(r"MAKE_DATE\(2999, 5, 6\)"), "last_day", "DATE"),
)


#: The fields holding a question's period, first and last day, per kind of spec.
_PERIODS: dict[type, tuple[str, str]] = {
    FunnelSpec: ("created_from", "created_to"),
    KpiSpec: ("period_from", "period_to"),
}


def periodless(spec: Any) -> tuple[Any, dict[str, date | None]]:
    """A question's spec with its period's first and last day swapped for the stand-ins,
    and those days: the key of a plan that serves every period."""
    if isinstance(spec, DrillSpec):
        funnel, days = periodless(spec.funnel)
        return dataclasses.replace(spec, funnel=funnel), days
    fields = _PERIODS.get(type(spec))
    if fields is None:
        return spec, {}
    first, last = (getattr(spec, name) for name in fields)
    generic = dataclasses.replace(spec, **{
        fields[0]: None if first is None else FIRST_DAY,
        fields[1]: None if last is None else LAST_DAY,
    })  # fmt: skip
    return generic, {"first_day": first, "last_day": last}


class Plans:
    """SQL per question key for one DuckDB store; safe to share between threads."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._sql: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        #: Asks answered from a stored plan and asks that compiled one (for tests and stats).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._sql)

    def clear(self) -> None:
        with self._lock:
            self._sql.clear()

    def sql(self, key: Hashable, build: Callable[[datetime], Any]) -> str:
        """The SQL of ``build(STAND_IN)`` with each stand-in as its parameter; ``build``
        runs only when ``key`` has no plan yet."""
        with self._lock:
            found = self._sql.get(key)
            if found is not None:
                self._sql.move_to_end(key)
                self.hits += 1
                return found
        compiled = str(ibis.to_sql(build(STAND_IN), dialect="duckdb"))
        planned = compiled
        for literal, name, kind in _PARAMETERS:
            planned = literal.sub(f"CAST(${name} AS {kind})", planned)
        if any(spelling in planned for spelling in _LEFT_OVER):
            # A stand-in reached the SQL in another spelling: a plan would be wrong.
            raise RuntimeError(f"cannot parameterise now in the plan of {key!r}")
        with self._lock:
            self.misses += 1
            self._sql[key] = planned
            self._sql.move_to_end(key)
            while len(self._sql) > self.capacity:
                self._sql.popitem(last=False)
        return planned

    def records(
        self,
        con: Any,
        key: Hashable,
        build: Callable[[datetime], Any],
        now: datetime,
        *,
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of the question ``key`` as of ``now`` (naive UTC) for the period's
        ``first_day`` and ``last_day`` (where the key's spec holds the stand-ins), over the
        Ibis DuckDB connection ``con``; ``build(now)`` gives the question's expression."""
        sql = self.sql(key, build)
        values = {"now": now, "first_day": first_day, "last_day": last_day}
        params = {name: values[name] for _, name, _ in _PARAMETERS if f"${name}" in sql}
        if any(value is None for value in params.values()):
            raise ValueError(f"the plan of {key!r} needs {sorted(params)}")
        relation = con.con.sql(sql, params=params or None)
        names = relation.columns
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
