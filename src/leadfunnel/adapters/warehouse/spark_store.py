"""The Spark analytics store: the write store's tables loaded into a local Spark session.

Spark is for event volumes one machine's DuckDB cannot hold; here it runs in local mode
(``local[2]``, two shuffle partitions, no UI, bound to 127.0.0.1, UTC session time), and
the engine asks it the same Ibis questions it asks DuckDB.

Sync is a **full load**, skipped when nothing changed:

1. a fingerprint of the write store (per large table its row count, and the newest
   ``updated_at`` of leads and deals, which change in place; the small campaign tables
   whole) is compared with the one loaded last;
2. when it differs, every table is read as Arrow text columns (:mod:`.source`), handed to
   Spark, typed there with ``CAST`` (times, amounts, days; owner and team ids dashed, as
   the DuckDB store keeps them) and cached in memory as a temporary view;
3. the milestone table, the stage stays and the first responses are built from those
   views with the shared Ibis expressions and cached too, so lifecycle funnels and the KPIs
   scan them as they do on DuckDB.

The cost is the whole write store per change, typed row by row in Spark: minutes at a
million leads on two cores, many times DuckDB's first sync (``docs/benchmarks.md``), plus
Spark's own start (seconds, once per process). Questions between two changes reuse the
cache. Views are private to the store's own Spark session (``newSession``: shared
context, separate views), so two stores in one process never see each other's tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.pyspark import Backend as PySparkBackend
from pyspark.sql import DataFrame, SparkSession
from sqlalchemy import Engine, text

from leadfunnel.adapters.warehouse.duckdb_store import SyncStats
from leadfunnel.adapters.warehouse.durations_builder import stays
from leadfunnel.adapters.warehouse.engine import DuckDbEngine, analytics_path
from leadfunnel.adapters.warehouse.kpi_builder import first_responses, with_first_responses
from leadfunnel.adapters.warehouse.milestones import milestones
from leadfunnel.adapters.warehouse.source import (
    LEAD_COLUMNS,
    RECORD_COLUMNS,
    TRANSITION_COLUMNS,
    WriteStoreReader,
)

__all__ = ["LOCAL_CONF", "SparkEngine", "SparkStore", "local_session"]

#: The local session: two cores, few partitions (the data sets are one machine's), no UI
#: and no network beyond the loopback; times are read and written in UTC.
LOCAL_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "leadfunnel",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # One machine's data in two partitions: re-planning after every stage costs more than
    # it saves (about a third of a small question's time).
    "spark.sql.adaptive.enabled": "false",
}
#: Columns that are not text, by name (the same name has the same type in every table).
_TYPES = {
    "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP", "at": "TIMESTAMP", "closed_at": "TIMESTAMP",
    "company_size": "BIGINT", "amount": "DECIMAL(18, 2)", "day": "DATE", "expected_close": "DATE",
}  # fmt: skip
#: Id columns stored dashed (SQLite spells UUIDs as 32 hex digits).
_DASHED = ("owner_id", "team_id")
_TABLES: dict[str, tuple[str, ...]] = {
    "leads": LEAD_COLUMNS,
    "stage_transitions": TRANSITION_COLUMNS,
    **RECORD_COLUMNS,
}
#: Large tables and what changes when a row is added or edited: the row count (the
#: append-only logs), the newest ``updated_at`` (rows edited in place, merges included).
_MARKS = {
    "leads": "count(*), max(updated_at)", "opportunities": "count(*), max(updated_at)",
    "stage_transitions": "count(*)", "touchpoints": "count(*)",
    "opportunity_stage_history": "count(*)", "activities": "count(*)",
}  # fmt: skip
#: Small tables edited in place without a stamp: compared whole.
_SMALL = ("campaigns", "campaign_costs")
_LOCK = threading.Lock()
#: One store per write store and process: what is loaded stays loaded between questions.
_STORES: dict[str, SparkStore] = {}


def local_session() -> SparkSession:
    """The process's local Spark session (started on first use: a few seconds)."""
    # The JVM inherits it: Spark then never looks up the host's own address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    with _LOCK:
        builder = SparkSession.builder
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session


def _typed(column: str) -> str:
    """The Spark SQL reading one text column as its type."""
    if column in _DASHED:
        # 32 hex digits -> the dashed form; anything else (already dashed, NULL) as it is.
        parts = ", ".join(f"substr({column}, {start}, {n})" for start, n in
                          ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12)))  # fmt: skip
        return (
            f"CASE WHEN {column} RLIKE '^[0-9a-fA-F]{{32}}$' "
            f"THEN lower(concat_ws('-', {parts})) ELSE {column} END AS {column}"
        )
    kind = _TYPES.get(column)
    return f"CAST(`{column}` AS {kind}) AS `{column}`" if kind else f"`{column}`"


def _arrow(batches: Iterator[pa.RecordBatch], columns: Sequence[str]) -> pa.Table:
    schema = pa.schema([(c, pa.string()) for c in columns])
    return pa.Table.from_batches(list(batches), schema=schema)


@dataclass(frozen=True)
class _Fingerprint:
    marks: tuple[tuple[Any, ...], ...]
    small: tuple[pa.Table, ...]

    def same(self, other: _Fingerprint | None) -> bool:
        return (
            other is not None
            and self.marks == other.marks
            and all(a.equals(b) for a, b in zip(self.small, other.small, strict=True))
        )


def _fingerprint(reader: WriteStoreReader) -> _Fingerprint:
    with reader.engine.connect() as conn:
        marks = tuple(
            tuple(conn.execute(text(f"SELECT {mark} FROM {table}")).one())
            for table, mark in _MARKS.items()
        )
    small = tuple(_arrow(reader.records(t), RECORD_COLUMNS[t]) for t in _SMALL)
    return _Fingerprint(marks, small)


class _SessionBackend(PySparkBackend):  # type: ignore[misc]
    """Ibis on the store's session; closing a question's connection keeps the session
    (Ibis's own ``disconnect`` stops it, and with it every other store's)."""

    def disconnect(self) -> None:
        """Nothing to close: the store owns the session."""


class SparkStore:
    """The analytics tables as cached temporary views of one Spark session."""

    def __init__(self, session: SparkSession | None = None) -> None:
        self.session = (session or local_session()).newSession()
        self._con: Any = None
        self._loaded: _Fingerprint | None = None
        self._cached: list[DataFrame] = []
        self._syncing = threading.Lock()  # one load at a time (the web server's threads)
        # Same name and meaning as on PostgreSQL (``milestones.custom_field``); keys are
        # identifiers (``funnel_spec``), so ``$.key`` needs no quoting.
        self.session.sql(
            "CREATE OR REPLACE TEMPORARY FUNCTION json_extract_path_text(doc STRING, key STRING) "
            "RETURNS STRING RETURN get_json_object(doc, concat('$.', key))"
        )

    def connect(self) -> Any:
        """The Ibis connection for questions (one per store, never closed by them)."""
        if self._con is None:
            # What ``ibis.pyspark`` does on first use; its compiler reads these options.
            _SessionBackend.register_options()
            self._con = _SessionBackend().connect(self.session)
        return self._con

    def _cache(self, frame: DataFrame, name: str) -> None:
        """Name the frame; Spark keeps it in memory once the first question has read it."""
        frame = frame.cache()
        self._cached.append(frame)
        frame.createOrReplaceTempView(name)

    def _load(self, reader: WriteStoreReader, fingerprint: _Fingerprint) -> dict[str, int]:
        for frame in self._cached:
            frame.unpersist()
        self._cached = []
        small = dict(zip(_SMALL, fingerprint.small, strict=True))
        counts = {}
        for table, columns in _TABLES.items():
            if table in small:
                arrow = small[table]
            elif table == "leads":
                arrow = _arrow(reader.leads(None), columns)
            elif table == "stage_transitions":
                arrow = _arrow(reader.transitions(None), columns)
            else:
                arrow = _arrow(reader.records(table), columns)
            self.put(table, arrow)
            counts[table] = arrow.num_rows
        self.derive()
        return counts

    def put(self, table: str, rows: pa.Table) -> None:
        """Name ``rows`` (text columns, as :mod:`.source` reads them) ``table``, typed."""
        raw = self.session.createDataFrame(rows)
        self._cache(raw.selectExpr(*(_typed(c) for c in rows.column_names)), table)

    def derive(self) -> None:
        """Build ``milestones`` (with each lead's first response) and ``stage_stays`` from
        ``leads``, ``stage_transitions`` and ``activities``."""
        con = self.connect()
        leads, transitions = con.table("leads"), con.table("stage_transitions")
        first = first_responses(leads, con.table("activities"))
        for name, expr in (("milestones", with_first_responses(milestones(leads, transitions), first)),
                           ("stage_stays", stays(transitions))):  # fmt: skip
            self._cache(self.session.sql(str(ibis.to_sql(expr, dialect="pyspark"))), name)

    def sync(self, reader: WriteStoreReader, *, now: datetime) -> SyncStats:
        """Load the write store when it changed since the last load (``now`` is unused:
        a full load has no watermark to cap)."""
        del now
        with self._syncing:
            fingerprint = _fingerprint(reader)
            if fingerprint.same(self._loaded):
                return SyncStats(0, 0, False, None)
            counts = self._load(reader, fingerprint)
            self._loaded = fingerprint
        return SyncStats(counts.pop("leads"), counts.pop("stage_transitions"), True, None, counts)


def _store_for(write_engine: Engine) -> SparkStore:
    key = write_engine.url.render_as_string(hide_password=False)
    with _LOCK:
        found = _STORES.get(key)
    if found is None:
        found = SparkStore()
        with _LOCK:
            found = _STORES.setdefault(key, found)
    return found


class SparkEngine(DuckDbEngine):
    """The DuckDB engine's questions, asked of a :class:`SparkStore` instead of a DuckDB
    file: the same Ibis expressions, compiled to Spark SQL."""

    def __init__(self, write_engine: Engine, store: SparkStore | None = None) -> None:
        # The DuckDB engine's own state (reader, last sync), then this store in its file's
        # place (the file is never opened).
        super().__init__(write_engine, analytics_path(str(write_engine.url)))
        self.store = store or _store_for(write_engine)
