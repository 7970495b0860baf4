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

The owners a manager's or rep's questions are limited to (a funnel's ``owners``, a KPI
question's ``owner_id`` filter, which the services set from the caller) are a parameter too,
``$owners``, a list: compiled with the one stand-in owner :data:`OWNERS`, whose ``IN``
test becomes a test against the list, so every manager and rep shares the plans of a
question (a manager's first dashboard after a restart: 2.0 s when each scope compiled its
own, measured at a million leads; see docs/benchmarks.md).

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

__all__ = ["CAPACITY", "FIRST_DAY", "LAST_DAY", "OWNERS", "STAND_IN", "Plans", "generic"]

#: Plans kept per engine: a dashboard asks four questions, the explorer one or two per view.
CAPACITY = 256
#: The ``now`` plans are compiled with: naive UTC, as the DuckDB store keeps times, and a
#: moment no stored time or spec date can spell.
STAND_IN = datetime(2999, 1, 2, 3, 4, 5, 678901)
#: Stand-ins for a period's first and last day (dates no spec can name).
FIRST_DAY = date(2999, 3, 4)
LAST_DAY = date(2999, 5, 6)
#: The stand-in for the owners a caller's questions cover (no owner id is spelt so).
OWNERS = "2999-owners"
#: A stand-in's day in any other spelling (``MAKE_DATE(2999, 1, 2)`` from ``now.date()``,
#: an ISO string), or the owners' anywhere but in their ``IN`` test, looked for after the
#: replacement; a user's text holding "2999" is fine.
_LEFT_OVER = ("2999, 1, 2", "2999-01-02", "2999, 3, 4", "2999-03-04", "2999, 5, 6", "2999-05-06",
              OWNERS)  # fmt: skip
#: Each stand-in's literal as Ibis writes it for DuckDB, and the parameter replacing it.
_PARAMETERS = (
    (re.compile(r"MAKE_TIMESTAMP\(2999, 1, 2, 3, 4, 5\.678901\)"), "now", "TIMESTAMP"),
    (re.compile(r"MAKE_DATE\(2999, 3, 4\)"), "first_day", "DATE"),
    (re.compile(r"MAKE_DATE\(2999, 5, 6\)"), "last_day", "DATE"),
)
_OWNERS_IN = re.compile(r"IN \('" + OWNERS + r"'\)")
_OWNERS_PARAMETER = "IN (SELECT UNNEST(CAST($owners AS VARCHAR[])))"


#: The fields holding a question's period, first and last day, per kind of spec.
_PERIODS: dict[type, tuple[str, str]] = {
    FunnelSpec: ("created_from", "created_to"),
    KpiSpec: ("period_from", "period_to"),
}


def _ownerless(spec: Any) -> tuple[Any, list[str] | None]:
    """The spec with its owners swapped for the stand-in, and those owners (as the
    builders test them: sorted, ``-`` for none, which no owner matches)."""
    if isinstance(spec, FunnelSpec) and spec.owners is not None:
        owners = sorted(spec.owners) or ["-"]
        return dataclasses.replace(spec, owners=frozenset([OWNERS])), owners
    if isinstance(spec, KpiSpec):
        filters = dict(spec.filters)
        if "owner_id" in filters:
            owners = list(filters["owner_id"])
            filters["owner_id"] = (OWNERS,)
            return dataclasses.replace(spec, filters=tuple(sorted(filters.items()))), owners
    return spec, None


def generic(spec: Any) -> tuple[Any, dict[str, Any]]:
    """A question's spec with its period's first and last day and its owners swapped for
    the stand-ins, and their values (``first_day``, ``last_day``, ``owners``): the key of
    a plan that serves every period and every caller."""
    if isinstance(spec, DrillSpec):
        funnel, inner = generic(spec.funnel)
        return dataclasses.replace(spec, funnel=funnel), inner
    spec, owners = _ownerless(spec)
    values: dict[str, Any] = {} if owners is None else {"owners": owners}
    fields = _PERIODS.get(type(spec))
    if fields is None:
        return spec, values
    first, last = (getattr(spec, name) for name in fields)
    spec = dataclasses.replace(spec, **{
        fields[0]: None if first is None else FIRST_DAY,
        fields[1]: None if last is None else LAST_DAY,
    })  # fmt: skip
    return spec, {**values, "first_day": first, "last_day": last}


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
        planned = _OWNERS_IN.sub(_OWNERS_PARAMETER, planned)
        if any(spelling in planned for spelling in _LEFT_OVER):
            # A stand-in reached the SQL in another spelling: a plan would be wrong.
            raise RuntimeError(f"cannot parameterise now, a day or the owners in the plan of {key!r}")
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
        owners: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of the question ``key`` as of ``now`` (naive UTC) for the period's
        ``first_day`` and ``last_day`` and the ``owners`` (where the key's spec holds the
        stand-ins), over the Ibis DuckDB connection ``con``; ``build(now)`` gives the
        question's expression."""
        sql = self.sql(key, build)
        values = {"now": now, "first_day": first_day, "last_day": last_day, "owners": owners}
        names = [name for _, name, _ in _PARAMETERS] + ["owners"]
        params = {name: values[name] for name in names if f"${name}" in sql}
        if any(value is None for value in params.values()):
            raise ValueError(f"the plan of {key!r} needs {sorted(params)}")
        relation = con.con.sql(sql, params=params or None)
        names = relation.columns
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
