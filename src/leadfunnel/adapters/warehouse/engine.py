"""Analytics engines behind one port: DuckDB for the embedded default, PostgreSQL directly,
and Spark on request (``spark_store.py``: the DuckDB engine's questions over a Spark store).

All run the same Ibis builders (``funnel_builder.py``) over the same milestone expression
(event funnels also read ``touchpoints``); they differ only in where the tables live and how
times are typed (DuckDB: naive UTC; PostgreSQL: ``timestamptz`` in a UTC session; Spark:
``TIMESTAMP`` in a UTC session, compared with naive UTC like DuckDB's).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import ibis
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from leadfunnel.adapters.warehouse.attribution_builder import (
    journey_leads,
    journey_touches,
    to_journeys,
)
from leadfunnel.adapters.warehouse.duckdb_store import DuckDbStore, SyncStats
from leadfunnel.adapters.warehouse.durations_builder import (
    stage_time_stats,
    stagnation_counts,
    stays,
    step_time_stats,
    step_time_stats_by,
    to_stats,
)
from leadfunnel.adapters.warehouse.forecast_source import forecast_deals, forecast_leads
from leadfunnel.adapters.warehouse.funnel_builder import build_drill, build_funnel, drill_page
from leadfunnel.adapters.warehouse.gate import ReadWriteGate
from leadfunnel.adapters.warehouse.kpi_builder import (
    cost_counts,
    deal_counts,
    first_responses,
    kpi_result,
    lead_counts,
    overall_counts,
    selected_leads,
    with_first_responses,
)
from leadfunnel.adapters.warehouse.milestones import milestones
from leadfunnel.adapters.warehouse.plans import Plans, generic
from leadfunnel.adapters.warehouse.results import funnel_result
from leadfunnel.adapters.warehouse.source import WriteStoreReader
from leadfunnel.analytics.attribution_journeys import Journeys
from leadfunnel.analytics.attribution_spec import AttributionSpec
from leadfunnel.analytics.drill import DrillSpec
from leadfunnel.analytics.durations import DurationStats
from leadfunnel.analytics.forecast_data import Deal
from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.analytics.funnel_spec import FunnelSpec
from leadfunnel.analytics.kpi_spec import KpiSpec
from leadfunnel.analytics.kpis import KpiResult
from leadfunnel.analytics.stagnation import StagnationRow, StagnationSpec

__all__ = ["DuckDbEngine", "PostgresEngine", "analytics_engine", "analytics_path"]


def _records(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def _naive(now: datetime) -> datetime:
    """``now`` as the DuckDB store keeps times: naive UTC."""
    return now.astimezone(UTC).replace(tzinfo=None)


def _stage_time_stats(rows: list[dict[str, Any]]) -> dict[str, DurationStats]:
    return {r["stage"]: to_stats(r, int(r["open"])) for r in sorted(rows, key=lambda r: r["stage"])}


def _stage_times(stay_table: Any) -> dict[str, DurationStats]:
    return _stage_time_stats(_records(stage_time_stats(stay_table)))


def _step_time_stats(rows: list[dict[str, Any]]) -> list[DurationStats]:
    return [to_stats(r) for r in sorted(rows, key=lambda r: r["k"])]


def _step_times(
    milestones_table: Any, transitions: Any, touchpoints: Any, spec: FunnelSpec
) -> list[DurationStats]:
    if len(spec.steps) < 2:
        return []
    return _step_time_stats(
        _records(step_time_stats(milestones_table, transitions, spec, touchpoints))
    )


def _step_time_stats_by(rows: list[dict[str, Any]]) -> dict[str, list[DurationStats]]:
    groups: dict[str, list[DurationStats]] = {}
    for r in sorted(rows, key=lambda r: (str(r["grp"]), r["k"])):
        groups.setdefault(str(r["grp"]), []).append(to_stats(r))
    return groups


def _step_times_by(
    milestones_table: Any, transitions: Any, touchpoints: Any, spec: FunnelSpec
) -> dict[str, list[DurationStats]]:
    """Time to convert per breakdown value (``analytics/durations.py``)."""
    if len(spec.steps) < 2:
        return {}
    return _step_time_stats_by(
        _records(step_time_stats_by(milestones_table, transitions, spec, touchpoints))
    )


def _drill(
    milestones_table: Any,
    transitions: Any,
    touchpoints: Any,
    cell: DrillSpec,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[uuid.UUID], int]:
    expr = build_drill(milestones_table, transitions, cell, now=now, touchpoints=touchpoints)
    total = int(expr.count().to_pyarrow().as_py())
    ids = [row["lead_id"] for row in _records(drill_page(expr, limit=limit, offset=offset))]
    return [_lead_id(value) for value in ids], total


def _lead_id(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _stagnation(
    milestones_table: Any, transitions: Any, spec: StagnationSpec, now: datetime
) -> list[StagnationRow]:
    if not spec.thresholds:
        return []
    found = {
        r["stage"]: r
        for r in _records(
            stagnation_counts(milestones_table, transitions, dict(spec.thresholds), now)
        )
    }
    rows = []
    for stage, days in spec.thresholds.items():
        r = found.get(stage)
        longest = None if r is None or r["longest_days"] is None else float(r["longest_days"])
        rows.append(
            StagnationRow(
                stage, int(r["open"]) if r else 0, int(r["stagnant"]) if r else 0, days, longest
            )
        )
    return rows


#: Set inside :meth:`DuckDbEngine.unsynced`: questions read the store without syncing it.
_UNSYNCED: ContextVar[bool] = ContextVar("unsynced", default=False)

#: Runs a question's expression builder ``make(spec, now)`` as the engine does and gives
#: its rows (from a compiled plan on the DuckDB store).
Rows = Callable[[str, Callable[[Any, datetime], Any]], list[dict[str, Any]]]


def _kpis(con: Any, spec: KpiSpec, rows: Rows, milestones_of: Any, *, stored_first: bool) -> KpiResult:
    """The KPI aggregations over a connection's ``opportunities``, ``campaigns`` and
    ``campaign_costs`` tables, the milestones ``milestones_of(con)`` and the leads' first
    responses: the milestones' own ``first_response_at`` (``stored_first``: DuckDB, Spark),
    else computed from ``activities`` for the selected leads inside the question
    (PostgreSQL). Tables are looked up only when a question is built, which a compiled plan
    skips."""

    def selected(question: KpiSpec) -> Any:
        return selected_leads(milestones_of(con), question)

    def answered(question: KpiSpec) -> Any:  # the selected leads with their first responses
        chosen = selected(question)
        if not stored_first:
            ids = chosen.select(id=chosen.lead_id, created_at=chosen.created_at)
            chosen = with_first_responses(chosen, first_responses(ids, con.table("activities")))
        return chosen

    def leads(question: KpiSpec, at: datetime) -> Any:
        return lead_counts(answered(question), now=at)

    def deals(question: KpiSpec, _: datetime) -> Any:
        return deal_counts(selected(question), con.table("opportunities"))

    def costs(question: KpiSpec, _: datetime) -> Any:
        return cost_counts(con.table("campaigns"), con.table("campaign_costs"), question)

    def overall(question: KpiSpec, _: datetime) -> Any:
        return overall_counts(answered(question), con.table("opportunities"))

    return kpi_result(
        spec,
        rows("kpi_leads", leads),
        rows("kpi_deals", deals),
        rows("kpi_costs", costs) if spec.cost_attributable else None,
        None if spec.by is None else rows("kpi_overall", overall),
    )


def _attribution(
    con: Any, milestones_table: Any, spec: AttributionSpec
) -> tuple[Journeys, tuple[str, ...]]:
    """Journeys over a connection's ``leads``, ``opportunities`` and ``touchpoints``."""
    selected = journey_leads(
        milestones_table, con.table("leads"), con.table("opportunities"), spec
    )
    touches = journey_touches(con.table("touchpoints"), selected, spec)
    return to_journeys(selected.to_pyarrow(), touches.to_pyarrow(), spec)


def _owner_ids(owners: frozenset[uuid.UUID] | None) -> list[str] | None:
    """The caller's owners as the store spells ids (dashed), or None: every deal."""
    return None if owners is None else sorted(str(o) for o in owners)


def _forecast_subjects(con: Any, subject: str, owners: list[str] | None) -> list[Deal]:
    """Deals with their pipeline history, or (``leads``) leads with their lifecycle."""
    if subject == "leads":
        return forecast_leads(con.table("leads"), con.table("stage_transitions"), owners)
    return forecast_deals(
        con.table("opportunities"), con.table("leads"), con.table("opportunity_stage_history"), owners
    )


class SyncedStore(Protocol):
    """A copy of the write store, brought up to date before each question: the DuckDB file,
    or a Spark session's cached views (``spark_store.py``)."""

    def sync(self, reader: WriteStoreReader, *, now: datetime) -> SyncStats: ...

    def connect(self) -> Any:
        """An Ibis connection with the synced tables, ``milestones`` and ``stage_stays``."""


class DuckDbEngine:
    """Funnels over the DuckDB file beside a SQLite write store, synced before each question."""

    def __init__(self, write_engine: Engine, path: Path) -> None:
        self.store: SyncedStore = DuckDbStore(path)
        self.reader = WriteStoreReader(write_engine)
        #: The write store's change token at the last sync, and that sync's figures.
        self._synced: tuple[Any, SyncStats] | None = None
        #: One sync at a time: the app keeps one engine for all its threads.
        self._syncing = threading.Lock()
        #: A sync (writes the file) and the open questions (read it) never overlap.
        self._gate = ReadWriteGate()
        #: How long the last sync that had something to read took (seconds).
        self.last_sync_seconds = 0.0
        #: The moment of this process's last sync (its figures are as of then).
        self.last_synced_at: datetime | None = None
        #: The compiled SQL of the questions asked so far (DuckDB store only).
        self.plans = Plans()

    def data_version(self) -> Any:
        """A token that changes with every commit to the write store (None: cannot tell)."""
        return self.reader.change_token()

    def close(self) -> None:
        """Release what the engine keeps open between questions."""
        self.reader.close()
        release = getattr(self.store, "release", None)
        if release is not None:
            release()

    def sync_due(self) -> bool:
        """Whether the next question has to sync first (the write store or the analytics file
        changed since this engine's last sync, or it cannot tell)."""
        written = self.reader.change_token()
        synced = self._synced
        return written is None or synced is None or synced[0] != (written, self._store_stamp())

    @contextmanager
    def unsynced(self) -> Iterator[None]:
        """Questions asked inside (in this context: threads started from it need a copy,
        ``contextvars.copy_context``) read the store as its last sync left it, without
        syncing first (a page that shows them marked "as of" :attr:`last_synced_at`)."""
        token = _UNSYNCED.set(True)
        try:
            yield
        finally:
            _UNSYNCED.reset(token)

    def sync(self, *, now: datetime) -> SyncStats:
        """Bring the store up to date; nothing to read when neither the write store nor the
        analytics file changed since this process last synced (their stamps say so)."""
        with self._syncing:
            written = self.reader.change_token()
            token = None if written is None else (written, self._store_stamp())
            if token is not None and self._synced is not None and self._synced[0] == token:
                return self._synced[1]
            with self._gate.writing():
                started = time.perf_counter()
                stats = self.store.sync(self.reader, now=now)
                self.last_sync_seconds = time.perf_counter() - started
            if stats.full:  # the tables may have a new shape
                self.plans.clear()
            self.last_synced_at = now
            # The analytics file as this sync left it: changed by anyone else, it is synced
            # again.
            self._synced = ((written, self._store_stamp()), stats) if written is not None else None
            return stats

    @contextmanager
    def _asked(self, now: datetime) -> Iterator[Any]:
        """A connection to the store, synced first (unless :meth:`unsynced`); closed after
        the question."""
        if not _UNSYNCED.get():
            self.sync(now=now)
        with self._gate.reading():
            con = self.store.connect()
            try:
                yield con
            finally:
                con.disconnect()

    def _store_stamp(self) -> tuple[int, int] | None:
        path = getattr(self.store, "path", None)
        try:
            info = Path(path).stat() if path is not None else None
        except FileNotFoundError:
            return None
        return None if info is None else (info.st_size, info.st_mtime_ns)

    def _rows(
        self, con: Any, name: str, spec: Any, make: Any, now: datetime, *extra: Hashable
    ) -> list[dict[str, Any]]:
        """The rows of ``make(spec, now)``, an Ibis expression over ``con`` (``now`` naive
        UTC): on the DuckDB store from the question's compiled plan, whose key is ``name``,
        the spec without its period's days and owners (they are parameters) and ``extra``;
        elsewhere compiled anew."""
        if not isinstance(self.store, DuckDbStore):
            return _records(make(spec, now))
        shape, values = generic(spec)
        return self.plans.records(
            con, (name, shape, *extra), lambda at: make(shape, at), now, **values
        )

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult:
        def make(question: FunnelSpec, at: datetime) -> Any:
            return build_funnel(
                con.table("milestones"), con.table("stage_transitions"), question, now=at,
                touchpoints=con.table("touchpoints"),
            )  # fmt: skip

        with self._asked(now) as con:
            return funnel_result(self._rows(con, "funnel", spec, make, _naive(now)), spec)

    def drill(
        self, cell: DrillSpec, *, now: datetime, limit: int, offset: int
    ) -> tuple[list[uuid.UUID], int]:
        def make(question: DrillSpec, at: datetime) -> Any:
            return build_drill(
                con.table("milestones"), con.table("stage_transitions"), question, now=at,
                touchpoints=con.table("touchpoints"),
            )  # fmt: skip

        with self._asked(now) as con:
            naive = _naive(now)
            total = self._rows(
                con, "drill_count", cell, lambda q, at: make(q, at).aggregate(n=lambda t: t.count()), naive
            )[0]["n"]
            page = self._rows(
                con, "drill", cell,
                lambda q, at: drill_page(make(q, at), limit=limit, offset=offset), naive,
                limit, offset,
            )  # fmt: skip
            return [_lead_id(row["lead_id"]) for row in page], int(total)

    def stage_times(self, *, now: datetime) -> dict[str, DurationStats]:
        with self._asked(now) as con:
            rows = self._rows(
                con, "stage_times", None,
                lambda _, __: stage_time_stats(con.table("stage_stays")), _naive(now),
            )  # fmt: skip
            return _stage_time_stats(rows)

    def step_times(self, spec: FunnelSpec, *, now: datetime) -> list[DurationStats]:
        if len(spec.steps) < 2:
            return []

        def make(question: FunnelSpec, _: datetime) -> Any:
            return step_time_stats(
                con.table("milestones"), con.table("stage_transitions"), question,
                con.table("touchpoints"),
            )  # fmt: skip

        with self._asked(now) as con:
            return _step_time_stats(self._rows(con, "step_times", spec, make, _naive(now)))

    def step_times_by(self, spec: FunnelSpec, *, now: datetime) -> dict[str, list[DurationStats]]:
        if len(spec.steps) < 2:
            return {}

        def make(question: FunnelSpec, _: datetime) -> Any:
            return step_time_stats_by(
                con.table("milestones"), con.table("stage_transitions"), question,
                con.table("touchpoints"),
            )  # fmt: skip

        with self._asked(now) as con:
            return _step_time_stats_by(
                self._rows(con, "step_times_by", spec, make, _naive(now))
            )

    def stagnation(self, spec: StagnationSpec, *, now: datetime) -> list[StagnationRow]:
        with self._asked(now) as con:
            naive = now.astimezone(UTC).replace(tzinfo=None)
            return _stagnation(con.table("milestones"), con.table("stage_transitions"), spec, naive)

    def kpis(self, spec: KpiSpec, *, now: datetime) -> KpiResult:
        with self._asked(now) as con:
            naive = _naive(now)

            def rows(name: str, make: Any) -> list[dict[str, Any]]:
                return self._rows(con, name, spec, make, naive)

            return _kpis(con, spec, rows, lambda c: c.table("milestones"), stored_first=True)

    def attribution_journeys(
        self, spec: AttributionSpec, *, now: datetime
    ) -> tuple[Journeys, tuple[str, ...]]:
        with self._asked(now) as con:
            return _attribution(con, con.table("milestones"), spec)

    def forecast_deals(
        self, *, now: datetime, owners: frozenset[uuid.UUID] | None, subject: str = "deals"
    ) -> list[Deal]:
        with self._asked(now) as con:
            return _forecast_subjects(con, subject, _owner_ids(owners))


class PostgresEngine:
    """Funnels computed inside PostgreSQL from the write store's own tables (no copy)."""

    def __init__(self, write_engine: Engine) -> None:
        self.url = write_engine.url

    def _connect(self) -> Any:
        url = self.url
        return ibis.postgres.connect(
            host=url.host or "localhost", port=url.port or 5432, user=url.username,
            password=url.password, database=url.database, options="-c TimeZone=UTC",
        )  # fmt: skip

    @contextmanager
    def _connected(self) -> Iterator[Any]:
        con = self._connect()
        try:
            yield con
        finally:
            con.disconnect()

    def sync(self, *, now: datetime) -> None:
        """Nothing to do: PostgreSQL is queried directly."""

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult:
        with self._connected() as con:
            transitions = con.table("stage_transitions")
            m = milestones(con.table("leads"), transitions)
            expr = build_funnel(
                m, transitions, spec, now=now.astimezone(UTC), touchpoints=con.table("touchpoints")
            )
            return funnel_result(_records(expr), spec)

    def stage_times(self, *, now: datetime) -> dict[str, DurationStats]:
        with self._connected() as con:
            return _stage_times(stays(con.table("stage_transitions")))

    def step_times(self, spec: FunnelSpec, *, now: datetime) -> list[DurationStats]:
        with self._connected() as con:
            transitions = con.table("stage_transitions")
            m = milestones(con.table("leads"), transitions)
            return _step_times(m, transitions, con.table("touchpoints"), spec)

    def step_times_by(self, spec: FunnelSpec, *, now: datetime) -> dict[str, list[DurationStats]]:
        with self._connected() as con:
            transitions = con.table("stage_transitions")
            m = milestones(con.table("leads"), transitions)
            return _step_times_by(m, transitions, con.table("touchpoints"), spec)

    def stagnation(self, spec: StagnationSpec, *, now: datetime) -> list[StagnationRow]:
        with self._connected() as con:
            transitions = con.table("stage_transitions")
            m = milestones(con.table("leads"), transitions)
            return _stagnation(m, transitions, spec, now.astimezone(UTC))

    def kpis(self, spec: KpiSpec, *, now: datetime) -> KpiResult:
        with self._connected() as con:
            m = milestones(con.table("leads"), con.table("stage_transitions"))

            def rows(name: str, make: Any) -> list[dict[str, Any]]:
                return _records(make(spec, now.astimezone(UTC)))

            return _kpis(con, spec, rows, lambda _: m, stored_first=False)

    def attribution_journeys(
        self, spec: AttributionSpec, *, now: datetime
    ) -> tuple[Journeys, tuple[str, ...]]:
        with self._connected() as con:
            m = milestones(con.table("leads"), con.table("stage_transitions"))
            return _attribution(con, m, spec)

    def drill(
        self, cell: DrillSpec, *, now: datetime, limit: int, offset: int
    ) -> tuple[list[uuid.UUID], int]:
        with self._connected() as con:
            transitions = con.table("stage_transitions")
            return _drill(
                milestones(con.table("leads"), transitions),
                transitions,
                con.table("touchpoints"),
                cell,
                now.astimezone(UTC),
                limit,
                offset,
            )

    def forecast_deals(
        self, *, now: datetime, owners: frozenset[uuid.UUID] | None, subject: str = "deals"
    ) -> list[Deal]:
        with self._connected() as con:
            return _forecast_subjects(con, subject, _owner_ids(owners))


def analytics_path(database_url: str) -> Path:
    """Where the DuckDB file of a SQLite write store lives: beside it, ``.duckdb`` suffix."""
    return Path(make_url(database_url).database or "leadfunnel.db").with_suffix(".duckdb")


def analytics_engine(write_engine: Engine, kind: str = "auto") -> DuckDbEngine | PostgresEngine:
    """``auto``: DuckDB beside SQLite, PostgreSQL directly; ``spark``: a local Spark session
    loaded from either (needs the ``spark`` extra)."""
    if kind == "spark":
        from leadfunnel.adapters.warehouse.spark_store import SparkEngine  # optional extra

        return SparkEngine(write_engine)
    if write_engine.dialect.name == "postgresql":
        return PostgresEngine(write_engine)
    return DuckDbEngine(write_engine, analytics_path(str(write_engine.url)))
