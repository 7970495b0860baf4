"""Syncing the tables the KPIs read besides leads: deals, activities, campaigns and their costs.

Run inside the analytics store's sync transaction (:mod:`.duckdb_store`), so a crash leaves
every table and watermark as they were. Per table, the cheapest correct way:

* ``opportunities`` change in place and bump ``updated_at``: re-read those stamped since
  the table's watermark (minus the overlap), replace them by id;
* ``activities`` are only ever added: read those created since the watermark (minus the
  overlap), replace by id the few read twice;
* ``campaigns`` and ``campaign_costs`` are small, and an imported cost replaces the amount
  of its day without a time stamp: copied whole every time.

A table without a watermark (first sync, or a store made before the table was synced) is
copied whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from leadfunnel.adapters.warehouse.source import WriteStoreReader

__all__ = ["RECORD_DDL", "sync_records"]

RECORD_DDL = (
    "CREATE TABLE IF NOT EXISTS opportunities (id VARCHAR, lead_id VARCHAR, account_id VARCHAR, "
    "amount DECIMAL(18, 2), stage VARCHAR, lost_reason VARCHAR, closed_at TIMESTAMP, "
    "created_at TIMESTAMP, updated_at TIMESTAMP)",
    'CREATE TABLE IF NOT EXISTS activities (id VARCHAR, lead_id VARCHAR, kind VARCHAR, "at" TIMESTAMP, '
    "created_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS campaigns (id VARCHAR, name VARCHAR, channel VARCHAR)",
    "CREATE TABLE IF NOT EXISTS campaign_costs (id VARCHAR, campaign_id VARCHAR, day DATE, "
    "amount DECIMAL(18, 2))",
)
_SELECT = {
    "opportunities": "SELECT id, lead_id, account_id, CAST(amount AS DECIMAL(18, 2)), stage, lost_reason, "
    "CAST(closed_at AS TIMESTAMP), CAST(created_at AS TIMESTAMP), CAST(updated_at AS TIMESTAMP) FROM batch",
    "activities": 'SELECT id, lead_id, kind, CAST("at" AS TIMESTAMP), CAST(created_at AS TIMESTAMP) FROM batch',
    "campaigns": "SELECT id, name, channel FROM batch",
    "campaign_costs": "SELECT id, campaign_id, CAST(day AS DATE), CAST(amount AS DECIMAL(18, 2)) FROM batch",
}
#: Incrementally synced tables -> the column their watermark follows.
_STAMPS = {"opportunities": "updated_at", "activities": "created_at"}

Copy = Callable[[duckdb.DuckDBPyConnection, Iterator[pa.RecordBatch], str], int]


def _mark(db: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    row = db.execute("SELECT value FROM sync_state WHERE name = ?", [name]).fetchone()
    return datetime.fromisoformat(row[0]) if row else None


def _incremental(
    db: duckdb.DuckDBPyConnection,
    reader: WriteStoreReader,
    table: str,
    copy: Copy,
    overlap: timedelta,
    now: datetime,
) -> int:
    stamp, key = _STAMPS[table], f"{table}_{_STAMPS[table]}"
    mark = _mark(db, key)
    since = None if mark is None else mark - overlap
    batches = reader.records(table, stamp=stamp, since=since)
    if since is None:
        db.execute(f"DELETE FROM {table}")
        count = copy(db, batches, f"INSERT INTO {table} {_SELECT[table]}")
    else:
        db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM {table} LIMIT 0")
        count = copy(db, batches, f"INSERT INTO incoming {_SELECT[table]}")
        db.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM incoming)")
        db.execute(f"INSERT INTO {table} SELECT * FROM incoming")
        db.execute("DROP TABLE incoming")
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
    """Bring the record tables up to date (``now``: naive UTC); rows read per table."""
    counts = {table: _incremental(db, reader, table, copy, overlap, now) for table in _STAMPS}
    for table in ("campaigns", "campaign_costs"):
        db.execute(f"DELETE FROM {table}")
        counts[table] = copy(db, reader.records(table), f"INSERT INTO {table} {_SELECT[table]}")
    return counts
