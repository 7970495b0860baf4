"""The embedded analytics store: a DuckDB file beside the SQLite write store, synced incrementally.

Sync, in one DuckDB transaction:

1. find the leads changed since the watermark (``leads.updated_at``, minus a five-minute
   overlap so a transaction that committed late is not missed; every stage change, merge and
   import bumps ``updated_at``);
2. replace those leads' rows and all their stage changes;
3. recompute their milestone rows and stage stays with the shared Ibis expressions (the
   stays are kept sorted by stage and duration: appended unsorted, sorted again once a
   fifth of the table came that way);
4. move the watermark to the newest ``updated_at`` read (never past the sync's own time);
5. bring deals, activities, campaigns, costs and touchpoints up to date (:mod:`.record_sync`);
6. recompute the first responses (the milestones' ``first_response_at``: per lead, the
   earliest response activity at or after its creation, what the KPIs' response figures
   read) of the leads of step 1 (their creation time may have moved) and of the leads whose
   activities step 5 read (for an activity read again under another lead, both leads), with
   the shared Ibis expression (:func:`.kpi_builder.first_responses`). When the leads or the
   activities were copied whole, the column is computed whole.

Activities never change lead in the write store: intake merges fold a submission into an
existing lead (its profile, a touchpoint, ``updated_at``), they never combine two leads or
re-point records, and no code path updates ``activities.lead_id`` or a lead's
``created_at``. An activity re-pointed by hand without a new ``created_at`` would not be
read again, so the store's ``activities`` table keeps its old lead, and the first
responses, computed from that table, agree with it; a full sync (or a :data:`FORMAT`
change) picks it up.

A crash anywhere leaves the previous state and watermark (the transaction rolls back), so
the next sync redoes the same work: sync is idempotent. The first sync copies everything,
and so does the first sync after the store's tables changed shape (:data:`FORMAT`).

Lead ids (``leads.id`` and every ``lead_id``) are stored as DuckDB ``UUID``s: sixteen bytes
instead of 32 hex digits of text, which halves the time of every join on them (the
opportunities of a million leads' milestones: 70 to 27 ms; measured in docs/benchmarks.md);
the sync casts the write store's ids (SQLite: 32 hex digits; PostgreSQL: ``uuid``) on the
way in. Other ids stay text. The dimensions ``owner_id`` and ``team_id`` are stored in the
dashed UUID form, as PostgreSQL prints them, so breakdowns and drill-downs read the same on
both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
from ibis.expr.types import Table

from leadfunnel.adapters.warehouse.durations_builder import stays
from leadfunnel.adapters.warehouse.kpi_builder import first_responses
from leadfunnel.adapters.warehouse.milestones import DIMENSIONS, STAGES, milestones
from leadfunnel.adapters.warehouse.record_sync import (
    ACTIVITY_LEADS,
    RECORD_DDL,
    RECORD_TABLES,
    sync_records,
)
from leadfunnel.adapters.warehouse.source import WriteStoreReader
from leadfunnel.domain.errors import StorageError

__all__ = ["DuckDbStore", "FORMAT", "SyncStats", "OVERLAP"]

OVERLAP = timedelta(minutes=5)
#: The shape of the store's tables; a store of another shape is rebuilt by a full sync.
#: 2: leads carry custom fields, ids of owners and teams are dashed, touchpoints are synced.
#: 3: deals carry owner, expected close, forecast category and next step; their stage
#: history is synced (the forecast).
#: 4: touchpoints carry their channel and campaign, leads their account (attribution).
#: 5: each lead's first response is kept (``first_responses``, the KPIs).
#: 6: stages are ENUMs, stays sorted, milestones carry the creation month.
#: 7: the first response is a column of the milestones (``first_response_at``), not a table.
#: 8: lead ids are UUIDs.
FORMAT = "8"
#: Tables derived from the synced ones; a store missing one is rebuilt by a full sync.
_DERIVED = ("milestones", "stage_stays")
#: Tables of earlier formats, dropped with the rest when the format changes.
_RETIRED = ("first_responses",)
_SYNCED = ("leads", "stage_transitions", *_DERIVED, *RECORD_TABLES, *_RETIRED)
_IDS = ("owner_id", "team_id")
#: Stages are stored as an ENUM in the derived tables: the questions' tests of a lead's
#: stage and groupings by it compare small integers, not text (the funnel workload over 10M
#: leads: about 0.28 s of 2.35 s).
_STAGE = "ENUM(" + ", ".join(f"'{stage}'" for stage in STAGES) + ")"
#: The first response is filled in after the activities are synced (:meth:`DuckDbStore._first_responses`).
_TYPED_MILESTONES = (
    f"SELECT * REPLACE (CAST(current_stage AS {_STAGE}) AS current_stage), "
    "CAST(NULL AS TIMESTAMP) AS first_response_at FROM ({})"
)
#: Stage stays are kept sorted by stage and duration: the time-in-stage question's quantiles
#: and histogram then read sorted runs (0.045 s instead of 0.115 s over 2.8M stays).
_SORTED_STAYS = "SELECT * FROM ({}) ORDER BY stage, days"
_TYPED_STAYS = f"SELECT * REPLACE (CAST(stage AS {_STAGE}) AS stage) FROM ({{}})"
#: Stays appended unsorted by incremental syncs; past 1/RESORT_SHARE of the table, resorted.
RESORT_SHARE = 5
_LEADS_DDL = (
    "CREATE TABLE IF NOT EXISTS leads (id UUID, created_at TIMESTAMP, updated_at TIMESTAMP, stage VARCHAR, "
    "company_size BIGINT, "
    + ", ".join(f"{d} VARCHAR" for d in DIMENSIONS)
    + ", custom_fields VARCHAR, account_id VARCHAR)"
)
_TRANSITIONS_DDL = 'CREATE TABLE IF NOT EXISTS stage_transitions (id VARCHAR, lead_id UUID, to_stage VARCHAR, "at" TIMESTAMP)'
_STATE_DDL = "CREATE TABLE IF NOT EXISTS sync_state (name VARCHAR PRIMARY KEY, value VARCHAR)"
_LEADS_INSERT = (
    "INSERT INTO leads SELECT CAST(id AS UUID), CAST(created_at AS TIMESTAMP), CAST(updated_at AS TIMESTAMP), stage, "
    "CAST(company_size AS BIGINT), "
    + ", ".join(
        f"coalesce(CAST(TRY_CAST({d} AS UUID) AS VARCHAR), {d})" if d in _IDS else d
        for d in DIMENSIONS
    )
    + ", custom_fields, account_id FROM batch"
)
_TRANSITIONS_INSERT = (
    'INSERT INTO stage_transitions SELECT id, CAST(lead_id AS UUID), to_stage, CAST("at" AS TIMESTAMP) FROM batch'
)


@dataclass(frozen=True)
class SyncStats:
    leads: int
    transitions: int
    full: bool
    watermark: datetime | None
    records: dict[str, int] = field(default_factory=dict)


def _source_tables(only_dirty: bool) -> tuple[Table, Table]:
    """The store's leads and stage changes as unbound Ibis tables (optionally: dirty leads only)."""
    leads = ibis.table(
        {"id": "uuid", "created_at": "timestamp", "updated_at": "timestamp", "stage": "string",
         "company_size": "int64", **dict.fromkeys(DIMENSIONS, "string"), "custom_fields": "string"},
        name="leads",
    )  # fmt: skip
    transitions = ibis.table(
        {"id": "string", "lead_id": "uuid", "to_stage": "string", "at": "timestamp"},
        name="stage_transitions",
    )
    if only_dirty:
        dirty = ibis.table({"id": "uuid"}, name="dirty")
        leads = leads.filter(leads.id.isin(dirty.id))
        transitions = transitions.filter(transitions.lead_id.isin(dirty.id))
    return leads, transitions


@cache  # compiling takes a quarter of a second; the SQL never changes
def _milestone_sql(only_dirty: bool) -> str:
    leads, transitions = _source_tables(only_dirty)
    return str(ibis.to_sql(milestones(leads, transitions), dialect="duckdb"))


@cache
def _stays_sql(only_dirty: bool) -> str:
    _, transitions = _source_tables(only_dirty)
    return str(ibis.to_sql(stays(transitions), dialect="duckdb"))


def create_lead_tables(db: duckdb.DuckDBPyConnection) -> None:
    """Build ``milestones`` and ``stage_stays`` whole from ``leads`` and ``stage_transitions``
    (a full sync; the funnel benchmark builds its store with it too)."""
    db.execute(f"CREATE TABLE milestones AS {_TYPED_MILESTONES.format(_milestone_sql(only_dirty=False))}")
    stays_sql = _TYPED_STAYS.format(_stays_sql(only_dirty=False))
    db.execute(f"CREATE TABLE stage_stays AS {_SORTED_STAYS.format(stays_sql)}")
    db.execute("INSERT OR REPLACE INTO sync_state VALUES ('stays_unsorted', '0')")


def _add_stays(db: duckdb.DuckDBPyConnection) -> None:
    """Append the dirty leads' stays; sort the table again once a fifth of it came unsorted."""
    row = db.execute(f"INSERT INTO stage_stays {_stays_sql(only_dirty=True)}").fetchone()
    state = db.execute("SELECT value FROM sync_state WHERE name = 'stays_unsorted'").fetchone()
    unsorted = (int(state[0]) if state else 0) + (int(row[0]) if row else 0)
    total = db.execute("SELECT count(*) FROM stage_stays").fetchone()
    if total and unsorted * RESORT_SHARE > int(total[0]):
        db.execute(f"CREATE OR REPLACE TABLE stage_stays AS {_SORTED_STAYS.format('SELECT * FROM stage_stays')}")
        unsorted = 0
    db.execute("INSERT OR REPLACE INTO sync_state VALUES ('stays_unsorted', ?)", [str(unsorted)])


@cache
def _first_responses_sql(only_changed: bool) -> str:
    """The first responses of every lead, or (``only_changed``) of the leads in ``responders``."""
    leads = ibis.table({"id": "uuid", "created_at": "timestamp"}, name="leads")
    activities = ibis.table(
        {"id": "string", "lead_id": "uuid", "kind": "string", "at": "timestamp"},
        name="activities",
    )
    if only_changed:
        changed = ibis.table({"id": "uuid"}, name="responders")
        leads = leads.filter(leads.id.isin(changed.id))
        activities = activities.filter(activities.lead_id.isin(changed.id))
    return str(ibis.to_sql(first_responses(leads, activities), dialect="duckdb"))


def _has_table(db: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _copy(db: duckdb.DuckDBPyConnection, batches: Iterator[pa.RecordBatch], insert: str) -> int:
    """Insert Arrow batches through ``insert`` (which reads from ``batch``); returns the row count."""
    count = 0
    for batch in batches:
        db.register("batch", batch)
        try:
            db.execute(insert)
        finally:
            db.unregister("batch")
        count += batch.num_rows
    return count


#: How long the store stays open after its last question (seconds): DuckDB keeps a file's
#: data cached (read and decompressed) only while some connection to it is open.
KEEP_OPEN_SECONDS = 30.0


#: How long to wait for a DuckDB file another process has locked (a running server holds
#: it while it syncs, and read-only while it answers and for :data:`KEEP_OPEN_SECONDS` after).
BUSY_SECONDS = 10.0


def _open(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, waiting up to :data:`BUSY_SECONDS` while another process holds the
    file's lock; then a :class:`StorageError` that says so instead of DuckDB's traceback."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"the analytics store {path} is in use by another process (a running "
                    "`leadfunnel serve` holds it while it syncs or answers, and for "
                    f"{KEEP_OPEN_SECONDS:.0f} s after); try again when it is idle, or ask "
                    "the server's API (/api/v1/analytics/...)"
                ) from None
            time.sleep(0.2)


class _Anchor:
    """A read-only connection holding one DuckDB file open between questions, so that each
    question's own connection finds the file's data cached (a KPI question over a million
    leads: 0.65 s with the file opened anew, 0.52 s with it held). One per file and
    process, whichever stores share the file (DuckDB itself keeps one database per file
    and process); released after :data:`KEEP_OPEN_SECONDS` without questions and before
    any sync writes the file. While it is held, another process cannot sync the file
    (DuckDB locks it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._last_question = 0.0
        self._timer: threading.Timer | None = None

    def hold(self) -> None:
        with self._lock:
            self._last_question = time.monotonic()
            if self._con is None and self.path.exists():
                self._con = _open(self.path, read_only=True)
            if self._con is not None and self._timer is None:
                self._schedule(KEEP_OPEN_SECONDS)

    def _schedule(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._release_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _release_if_idle(self) -> None:
        with self._lock:
            self._timer = None
            idle = time.monotonic() - self._last_question
            if self._con is not None and idle < KEEP_OPEN_SECONDS:
                self._schedule(KEEP_OPEN_SECONDS - idle)
                return
            con, self._con = self._con, None
        if con is not None:
            con.close()

    def release(self) -> None:
        with self._lock:
            con, self._con = self._con, None
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if con is not None:
            con.close()


_ANCHORS: dict[str, _Anchor] = {}
_ANCHORS_LOCK = threading.Lock()


def _anchor(path: Path) -> _Anchor:
    key = str(path.resolve())
    with _ANCHORS_LOCK:
        return _ANCHORS.setdefault(key, _Anchor(path))


class DuckDbStore:
    """The DuckDB file; held open between questions (:class:`_Anchor`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _watermark(self, db: duckdb.DuckDBPyConnection) -> datetime | None:
        row = db.execute("SELECT value FROM sync_state WHERE name = 'leads_updated_at'").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def sync(self, reader: WriteStoreReader, *, now: datetime) -> SyncStats:
        """Bring the store up to date; ``now`` (UTC) caps the watermark, so rows stamped in
        the future (clock skew, simulated history) are read again rather than skipped past."""
        self.release()  # DuckDB opens a file read-write only when no read-only connection is
        with _open(self.path, read_only=False) as db:
            db.execute(_STATE_DDL)
            row = db.execute("SELECT value FROM sync_state WHERE name = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                for table in _SYNCED:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("DELETE FROM sync_state")
            for ddl in (_LEADS_DDL, _TRANSITIONS_DDL, *RECORD_DDL):
                db.execute(ddl)
            mark = self._watermark(db)
            ready = all(_has_table(db, table) for table in _DERIVED)
            ids = None if mark is None or not ready else reader.changed_lead_ids(mark - OVERLAP)
            db.begin()
            try:
                stats = self._apply(db, reader, ids, mark, now.astimezone(UTC).replace(tzinfo=None))
                db.commit()
            except BaseException:
                db.rollback()
                raise
        return stats

    def _apply(
        self,
        db: duckdb.DuckDBPyConnection,
        reader: WriteStoreReader,
        ids: list[str] | None,
        mark: datetime | None,
        now: datetime,
    ) -> SyncStats:
        if ids is None:
            for table in ("leads", "stage_transitions"):
                db.execute(f"DELETE FROM {table}")
            for table in _DERIVED:
                db.execute(f"DROP TABLE IF EXISTS {table}")
        else:
            db.register("dirty_ids", pa.table({"id": pa.array(ids, pa.string())}))
            db.execute("CREATE OR REPLACE TEMP TABLE dirty AS SELECT CAST(id AS UUID) AS id FROM dirty_ids")
            db.unregister("dirty_ids")
            db.execute("DELETE FROM leads WHERE id IN (SELECT id FROM dirty)")
            db.execute("DELETE FROM stage_transitions WHERE lead_id IN (SELECT id FROM dirty)")
            db.execute("DELETE FROM milestones WHERE lead_id IN (SELECT id FROM dirty)")
            db.execute("DELETE FROM stage_stays WHERE lead_id IN (SELECT id FROM dirty)")
        lead_count = _copy(db, reader.leads(ids), _LEADS_INSERT)
        transition_count = _copy(db, reader.transitions(ids), _TRANSITIONS_INSERT)
        if ids is None:
            create_lead_tables(db)
        elif ids:
            db.execute(f"INSERT INTO milestones BY NAME {_milestone_sql(only_dirty=True)}")
            _add_stays(db)
        row = db.execute("SELECT max(updated_at) FROM leads").fetchone()
        newest = row[0] if row else None
        watermark = max(filter(None, (mark, min(newest, now) if newest else None)), default=None)
        if watermark is not None:
            db.execute(
                "INSERT OR REPLACE INTO sync_state VALUES ('leads_updated_at', ?)",
                [watermark.isoformat()],
            )
        records = sync_records(db, reader, _copy, overlap=OVERLAP, now=now)
        self._first_responses(db, whole=ids is None or not _has_table(db, ACTIVITY_LEADS))
        db.execute("INSERT OR REPLACE INTO sync_state VALUES ('format', ?)", [FORMAT])
        return SyncStats(lead_count, transition_count, ids is None, watermark, records)

    def _first_responses(self, db: duckdb.DuckDBPyConnection, *, whole: bool) -> None:
        """Fill in every lead's first response (``whole``: the milestones are written anew
        with it), or recompute those of the dirty leads and of the leads whose activities
        were read (set, or cleared when they have none now)."""
        if whole:
            db.execute(
                "CREATE OR REPLACE TABLE milestones AS "
                "SELECT m.* REPLACE (f.first_at AS first_response_at) FROM milestones m "
                f"LEFT JOIN ({_first_responses_sql(only_changed=False)}) f ON f.lead_id = m.lead_id"
            )
            return
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE responders AS "
            f"SELECT id FROM dirty UNION SELECT lead_id FROM {ACTIVITY_LEADS}"
        )
        db.execute(
            "UPDATE milestones SET first_response_at = r.first_at FROM ("
            "SELECT responders.id, f.first_at FROM responders "
            f"LEFT JOIN ({_first_responses_sql(only_changed=True)}) f ON f.lead_id = responders.id"
            ") r WHERE milestones.lead_id = r.id"
        )

    def connect(self) -> ibis.BaseBackend:
        """A read-only Ibis connection for queries (the file held open meanwhile)."""
        _anchor(self.path).hold()
        return ibis.duckdb.connect(str(self.path), read_only=True)

    def release(self) -> None:
        """Stop holding the file open (before writing it, and when an engine closes);
        questions still running keep their own connections."""
        _anchor(self.path).release()
