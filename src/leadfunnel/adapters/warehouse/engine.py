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
from collections.abc import Iterator
from contextlib import contextmanager
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
    kpi_result,
    lead_counts,
    lost_reason_counts,
    selected_leads,
)
from leadfunnel.adapters.warehouse.milestones import milestones
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


def _stage_times(stay_table: Any) -> dict[str, DurationStats]:
    rows = _records(stage_time_stats(stay_table))
    return {r["stage"]: to_stats(r, int(r["open"])) for r in sorted(rows, key=lambda r: r["stage"])}


def _step_times(
    milestones_table: Any, transitions: Any, touchpoints: Any, spec: FunnelSpec
) -> list[DurationStats]:
    if len(spec.steps) < 2:
        return []
    rows = sorted(
        _records(step_time_stats(milestones_table, transitions, spec, touchpoints)),
        key=lambda r: r["k"],
    )
    return [to_stats(r) for r in rows]


def _step_times_by(
    milestones_table: Any, transitions: Any, touchpoints: Any, spec: FunnelSpec
) -> dict[str, list[DurationStats]]:
    """Time to convert per breakdown value (``analytics/durations.py``)."""
    if len(spec.steps) < 2:
        return {}
    rows = _records(step_time_stats_by(milestones_table, transitions, spec, touchpoints))
    groups: dict[str, list[DurationStats]] = {}
    for r in sorted(rows, key=lambda r: (str(r["grp"]), r["k"])):
        groups.setdefault(str(r["grp"]), []).append(to_stats(r))
    return groups


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
    return [
        value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for value in ids
    ], total


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


def _kpis(con: Any, milestones_table: Any, spec: KpiSpec, now: datetime) -> KpiResult:
    """The KPI aggregations over a connection's ``activities``, ``opportunities``,
    ``campaigns`` and ``campaign_costs`` tables and the given milestones."""
    selected = selected_leads(milestones_table, spec)
    deals = con.table("opportunities")
    costs = (
        _records(cost_counts(con.table("campaigns"), con.table("campaign_costs"), spec))
        if spec.cost_attributable
        else None
    )
    return kpi_result(
        spec,
        _records(lead_counts(selected, con.table("activities"), now=now)),
        _records(deal_counts(selected, deals)),
        _records(lost_reason_counts(selected, deals)),
        costs,
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

    def data_version(self) -> Any:
        """A token that changes with every commit to the write store (None: cannot tell)."""
        return self.reader.change_token()

    def close(self) -> None:
        """Release what the engine keeps open between questions."""
        self.reader.close()

    def sync_due(self) -> bool:
        """Whether the next question has to sync first (the write store or the analytics file
        changed since this engine's last sync, or it cannot tell)."""
        written = self.reader.change_token()
        synced = self._synced
        return written is None or synced is None or synced[0] != (written, self._store_stamp())

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
            # The analytics file as this sync left it: changed by anyone else, it is synced
            # again.
            self._synced = ((written, self._store_stamp()), stats) if written is not None else None
            return stats

    @contextmanager
    def _asked(self, now: datetime) -> Iterator[Any]:
        """A connection to the store, synced first; closed after the question."""
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

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult:
        with self._asked(now) as con:
            expr = build_funnel(
                con.table("milestones"),
                con.table("stage_transitions"),
                spec,
                now=now.astimezone(UTC).replace(tzinfo=None),
                touchpoints=con.table("touchpoints"),
            )
            return funnel_result(_records(expr), spec)

    def drill(
        self, cell: DrillSpec, *, now: datetime, limit: int, offset: int
    ) -> tuple[list[uuid.UUID], int]:
        with self._asked(now) as con:
            naive = now.astimezone(UTC).replace(tzinfo=None)
            return _drill(
                con.table("milestones"),
                con.table("stage_transitions"),
                con.table("touchpoints"),
                cell,
                naive,
                limit,
                offset,
            )

    def stage_times(self, *, now: datetime) -> dict[str, DurationStats]:
        with self._asked(now) as con:
            return _stage_times(con.table("stage_stays"))

    def step_times(self, spec: FunnelSpec, *, now: datetime) -> list[DurationStats]:
        with self._asked(now) as con:
            return _step_times(
                con.table("milestones"),
                con.table("stage_transitions"),
                con.table("touchpoints"),
                spec,
            )

    def step_times_by(self, spec: FunnelSpec, *, now: datetime) -> dict[str, list[DurationStats]]:
        with self._asked(now) as con:
            return _step_times_by(
                con.table("milestones"),
                con.table("stage_transitions"),
                con.table("touchpoints"),
                spec,
            )

    def stagnation(self, spec: StagnationSpec, *, now: datetime) -> list[StagnationRow]:
        with self._asked(now) as con:
            naive = now.astimezone(UTC).replace(tzinfo=None)
            return _stagnation(con.table("milestones"), con.table("stage_transitions"), spec, naive)

    def kpis(self, spec: KpiSpec, *, now: datetime) -> KpiResult:
        with self._asked(now) as con:
            naive = now.astimezone(UTC).replace(tzinfo=None)
            return _kpis(con, con.table("milestones"), spec, naive)

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
            return _kpis(con, m, spec, now.astimezone(UTC))

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
