"""Syncing the tables the KPIs and event funnels read besides leads: deals, activities,
campaigns and their costs, touchpoints.

Run inside the analytics store's sync transaction (:mod:`.duckdb_store`), so a crash leaves
every table and watermark as they were. Per table, the cheapest correct way:

* ``opportunities`` change in place and bump ``updated_at``: re-read those stamped since
  the table's watermark (minus the overlap), replace them by id;
* ``activities`` are only ever added: read those created since the watermark (minus the
  overlap), replace by id the few read twice. The leads whose activities were read (for a
  row read again under another lead, both leads) are left in the temporary table
  :data:`ACTIVITY_LEADS`, so the store can recompute their first responses; when the
  activities were copied whole, that table is dropped (every lead's may have changed);
* ``opportunity_stage_history`` (the deals' stage changes, which the forecast learns from)
  is append-only with UUIDv7 ids: synced like ``touchpoints`` below;
* ``campaigns`` and ``campaign_costs`` are small, and an imported cost replaces the amount
  of its day without a time stamp: copied whole every time;
* ``touchpoints`` are only ever added and have no time stamp of their own, but their ids are
  UUIDv7, which begin with the time they were made: read those whose id is at or after the
  watermark's time (minus the overlap), replace by id the few read twice. Imported history
  may carry ids made from the time it describes, older than the watermark; so the store's
  row count is compared with the write store's, and a difference means a full copy.

A table without a watermark (first sync, or a store made before the table was synced) is
copied whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from leadfunnel.adapters.warehouse.source import WriteStoreReader
from leadfunnel.domain.ids import id_at, id_time_ms

__all__ = ["ACTIVITY_LEADS", "RECORD_DDL", "RECORD_TABLES", "sync_records"]

RECORD_DDL = (
    'CREATE TABLE IF NOT EXISTS touchpoints (id VARCHAR, lead_id UUID, kind VARCHAR, "at" TIMESTAMP, '
    "channel VARCHAR, campaign VARCHAR)",
    "CREATE TABLE IF NOT EXISTS opportunities (id VARCHAR, lead_id UUID, account_id UUID, "
    "amount DECIMAL(18, 2), stage VARCHAR, lost_reason VARCHAR, closed_at TIMESTAMP, "
    "created_at TIMESTAMP, updated_at TIMESTAMP, owner_id VARCHAR, expected_close DATE, "
    "forecast_category VARCHAR, next_step VARCHAR)",
    "CREATE TABLE IF NOT EXISTS opportunity_stage_history (id VARCHAR, opportunity_id VARCHAR, "
    'to_stage VARCHAR, "at" TIMESTAMP)',
    'CREATE TABLE IF NOT EXISTS activities (id VARCHAR, lead_id UUID, kind VARCHAR, "at" TIMESTAMP, '
    "created_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS campaigns (id VARCHAR, name VARCHAR, channel VARCHAR)",
    "CREATE TABLE IF NOT EXISTS campaign_costs (id VARCHAR, campaign_id VARCHAR, day DATE, "
    "amount DECIMAL(18, 2))",
)
_SELECT = {
    "touchpoints": 'SELECT id, CAST(lead_id AS UUID), kind, CAST("at" AS TIMESTAMP), channel, campaign FROM batch',
    "opportunities": "SELECT id, CAST(lead_id AS UUID), CAST(account_id AS UUID), CAST(amount AS DECIMAL(18, 2)), stage, lost_reason, "
    "CAST(closed_at AS TIMESTAMP), CAST(created_at AS TIMESTAMP), CAST(updated_at AS TIMESTAMP), "
    "coalesce(CAST(TRY_CAST(owner_id AS UUID) AS VARCHAR), owner_id), CAST(expected_close AS DATE), "
    "forecast_category, next_step FROM batch",
    "opportunity_stage_history": 'SELECT id, opportunity_id, to_stage, CAST("at" AS TIMESTAMP) FROM batch',
    "activities": 'SELECT id, CAST(lead_id AS UUID), kind, CAST("at" AS TIMESTAMP), CAST(created_at AS TIMESTAMP) FROM batch',
    "campaigns": "SELECT id, name, channel FROM batch",
    "campaign_costs": "SELECT id, campaign_id, CAST(day AS DATE), CAST(amount AS DECIMAL(18, 2)) FROM batch",
}
#: Incrementally synced tables -> the column their watermark follows.
_STAMPS = {"opportunities": "updated_at", "activities": "created_at"}
RECORD_TABLES = ("touchpoints", "opportunities", "opportunity_stage_history", "activities",
                 "campaigns", "campaign_costs")  # fmt: skip

#: The sync's temporary table of leads whose activities it read (absent: copied whole).
ACTIVITY_LEADS = "activity_leads"

Copy = Callable[[duckdb.DuckDBPyConnection, Iterator[pa.RecordBatch], str], int]


def _state(db: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = db.execute("SELECT value FROM sync_state WHERE name = ?", [name]).fetchone()
    return str(row[0]) if row else None


def _mark(db: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    value = _state(db, name)
    return datetime.fromisoformat(value) if value is not None else None


def _replace(
    db: duckdb.DuckDBPyConnection,
    table: str,
    batches: Iterator[pa.RecordBatch],
    copy: Copy,
    touched: str | None = None,
) -> int:
    """Insert the rows, replacing any stored row with the same id (``touched``: a table
    to add the ``lead_id`` of every row read to, and that of the stored row it replaces)."""
    db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM {table} LIMIT 0")
    count = copy(db, batches, f"INSERT INTO incoming {_SELECT[table]}")
    replaced = f"SELECT lead_id FROM {table} WHERE id IN (SELECT id FROM incoming)"
    if touched is not None:  # also the replaced rows' leads: a row read again elsewhere left one
        db.execute(f"INSERT INTO {touched} SELECT lead_id FROM incoming UNION {replaced}")
    db.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM incoming)")
    db.execute(f"INSERT INTO {table} SELECT * FROM incoming")
    db.execute("DROP TABLE incoming")
    return count


def _id_time(hex_id: str) -> datetime | None:
    try:
        made = datetime.fromtimestamp(id_time_ms(uuid.UUID(hex_id)) / 1000, UTC)
    except (ValueError, OverflowError, OSError):  # not a UUIDv7: far outside the calendar
        return None
    return made.replace(tzinfo=None)


def _appended(
    db: duckdb.DuckDBPyConnection,
    reader: WriteStoreReader,
    table: str,
    copy: Copy,
    overlap: timedelta,
    now: datetime,
) -> int:
    key = f"{table}_id"
    mark = _mark(db, key)
    count = 0
    first = None
    if mark is not None:
        first = id_at(int((mark - overlap).replace(tzinfo=UTC).timestamp() * 1000), 0).hex
        count = _replace(db, table, reader.appended(table, first), copy)
    row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    if mark is None or (row[0] if row else 0) != reader.count(table):
        db.execute(f"DELETE FROM {table}")
        count = copy(db, reader.records(table), f"INSERT INTO {table} {_SELECT[table]}")
        first = None
    # The newest id: among the rows just read when the copy was incremental (ids are stored
    # in the order they were made, so the filter skips the older row groups unread).
    newest = (
        db.execute(f"SELECT max(id) FROM {table}").fetchone()
        if first is None
        else db.execute(f"SELECT max(id) FROM {table} WHERE id >= ?", [first]).fetchone()
    )
    made = _id_time(newest[0]) if newest and newest[0] else None
    watermark = max(filter(None, (mark, min(made, now) if made else None)), default=None)
    if watermark is not None:
        db.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [key, watermark.isoformat()])
    return count


def _incremental(
    db: duckdb.DuckDBPyConnection,
    reader: WriteStoreReader,
    table: str,
    copy: Copy,
    overlap: timedelta,
    now: datetime,
    touched: str | None = None,
) -> int:
    stamp, key = _STAMPS[table], f"{table}_{_STAMPS[table]}"
    mark = _mark(db, key)
    since = None if mark is None else mark - overlap
    batches = reader.records(table, stamp=stamp, since=since)
    if since is None:
        db.execute(f"DELETE FROM {table}")
        count = copy(db, batches, f"INSERT INTO {table} {_SELECT[table]}")
        if touched is not None:
            db.execute(f"DROP TABLE IF EXISTS {touched}")
    else:
        count = _replace(db, table, batches, copy, touched)
    row = db.execute(f"SELECT max({stamp}) FROM {table}").fetchone()
    newest = row[0] if row else None
    watermark = max(filter(None, (mark, min(newest, now) if newest else None)), default=None)
    if watermark is not None:
        db.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [key, watermark.isoformat()])
    return count


def sync_records(
    db: duckdb.DuckDBPyConnection,
    reader: WriteStoreReader,
    copy: Copy,
    *,
    overlap: timedelta,
    now: datetime,
) -> dict[str, int]:
    """Bring the record tables up to date (``now``: naive UTC); rows read per table. Leaves
    :data:`ACTIVITY_LEADS` behind unless the activities were copied whole."""
    db.execute(f"CREATE OR REPLACE TEMP TABLE {ACTIVITY_LEADS} (lead_id UUID)")
    counts = {
        table: _incremental(db, reader, table, copy, overlap, now,
                            ACTIVITY_LEADS if table == "activities" else None)
        for table in _STAMPS
    }  # fmt: skip
    for table in ("touchpoints", "opportunity_stage_history"):
        counts[table] = _appended(db, reader, table, copy, overlap, now)
    db.execute("DELETE FROM campaigns")
    counts["campaigns"] = copy(db, reader.records("campaigns"), f"INSERT INTO campaigns {_SELECT['campaigns']}")
    # The costs are copied whole, but only when their fingerprint moved (copying 20,000
    # rows on every sync was half an incremental sync's time at a million leads).
    seen = reader.costs_fingerprint()
    if seen is not None and _state(db, "campaign_costs_rows") == seen:
        counts["campaign_costs"] = 0
    else:
        db.execute("DELETE FROM campaign_costs")
        counts["campaign_costs"] = copy(db, reader.records("campaign_costs"),
                                        f"INSERT INTO campaign_costs {_SELECT['campaign_costs']}")  # fmt: skip
        if seen is not None:
            db.execute("INSERT OR REPLACE INTO sync_state VALUES ('campaign_costs_rows', ?)", [seen])
    return counts
