"""Reading the write store for the analytics sync: raw column values, in chunks, as Arrow.

Values come straight from the driver (SQLite: UUIDs as 32-char hex, times as
``YYYY-MM-DD HH:MM:SS[.ffffff]`` text in UTC), so a million rows cost seconds, not the
minutes per-value conversion in Python would; DuckDB casts them on the way in.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine, text

from leadfunnel.adapters.warehouse.milestones import DIMENSIONS

__all__ = ["RECORD_COLUMNS", "WriteStoreReader", "LEAD_COLUMNS", "TRANSITION_COLUMNS"]

LEAD_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "stage",
    "company_size",
    *DIMENSIONS,
    "custom_fields",
    "account_id",
)
TRANSITION_COLUMNS = ("id", "lead_id", "to_stage", "at")
#: The other tables the KPIs and event funnels read, and the columns copied.
RECORD_COLUMNS: dict[str, tuple[str, ...]] = {
    "touchpoints": ("id", "lead_id", "kind", "at", "channel", "campaign"),
    "opportunities": ("id", "lead_id", "account_id", "amount", "stage", "lost_reason", "closed_at",
                      "created_at", "updated_at", "owner_id", "expected_close", "forecast_category",
                      "next_step"),
    "opportunity_stage_history": ("id", "opportunity_id", "to_stage", "at"),
    "activities": ("id", "lead_id", "kind", "at", "created_at"),
    "campaigns": ("id", "name", "channel"),
    "campaign_costs": ("id", "campaign_id", "day", "amount"),
}  # fmt: skip
_CHUNK = 200_000
_JSON = frozenset({"custom_fields"})


class WriteStoreReader:
    """Leads changed since a time, and their stage changes, from a SQLite write store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._watch: tuple[int, sqlite3.Connection] | None = None  # (inode, connection)
        self._watch_lock = threading.Lock()

    def change_token(self) -> tuple[int, ...] | None:
        """A token that changes with every commit. For SQLite: the inode, size and
        modification time of the database file and of its write-ahead log, and the
        ``PRAGMA data_version`` of a connection kept open to watch it (it moves with every
        commit made by any other connection; file times alone can miss a commit that lands
        in the same clock tick as the one before, after a checkpoint has reset the log).
        None for other stores (they cannot tell cheaply)."""
        if self.engine.dialect.name != "sqlite" or not self.engine.url.database:
            return None
        path = Path(self.engine.url.database)
        token: list[int] = []
        for part in (path, path.with_name(path.name + "-wal")):
            try:
                info = part.stat()
            except FileNotFoundError:
                token += [-1, -1, -1]
            else:
                token += [info.st_ino, info.st_size, info.st_mtime_ns]
        return (*token, self._data_version(path, token[0]))

    def close(self) -> None:
        """Close the connection kept to watch the write store (if one was opened)."""
        with self._watch_lock:
            if self._watch is not None:
                self._watch[1].close()
                self._watch = None

    def _data_version(self, path: Path, inode: int) -> int:
        if inode < 0:
            return -1
        with self._watch_lock:
            if self._watch is None or self._watch[0] != inode:  # first use, or a new file
                if self._watch is not None:
                    self._watch[1].close()
                uri = f"file:{path}?mode=ro"
                self._watch = (inode, sqlite3.connect(uri, uri=True, check_same_thread=False))
            row = self._watch[1].execute("PRAGMA data_version").fetchone()
            return int(row[0])

    def changed_lead_ids(self, since: datetime | None) -> list[str]:
        with self.engine.connect() as conn:
            if since is None:
                rows = conn.exec_driver_sql("SELECT id FROM leads")
            else:
                bound = since.replace(tzinfo=None).isoformat(sep=" ")
                rows = conn.execute(
                    text("SELECT id FROM leads WHERE updated_at >= :since"), {"since": bound}
                )
            return [r[0] for r in rows]

    def _batches(
        self, table: str, key: str, columns: Sequence[str], ids: Sequence[str] | None
    ) -> Iterator[pa.RecordBatch]:
        # Table and column names are fixed above; ids travel as one bound JSON parameter.
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            if ids is None:
                cursor.execute(sql)
                yield from _fetch(cursor, columns)
                return
            for start in range(0, len(ids), _CHUNK):
                cursor.execute(
                    f"{sql} WHERE {key} IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(ids[start : start + _CHUNK])),),
                )
                yield from _fetch(cursor, columns)

    def records(
        self, table: str, *, stamp: str | None = None, since: datetime | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Rows of one of :data:`RECORD_COLUMNS`' tables: all, or those whose ``stamp``
        column is at or after ``since``."""
        columns = RECORD_COLUMNS[table]
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            if stamp is None or since is None:
                cursor.execute(sql)
            else:
                assert stamp in columns
                cursor.execute(
                    f"{sql} WHERE {stamp} >= ?", (since.replace(tzinfo=None).isoformat(sep=" "),)
                )
            yield from _fetch(cursor, columns)

    def appended(self, table: str, first_id: str) -> Iterator[pa.RecordBatch]:
        """Rows of one of :data:`RECORD_COLUMNS`' tables whose id (32 hex digits, UUIDv7:
        time first) is at or after ``first_id``."""
        columns = RECORD_COLUMNS[table]
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id >= ?", (first_id,))
            yield from _fetch(cursor, columns)

    def costs_fingerprint(self) -> str | None:
        """What changes whenever a row of ``campaign_costs`` is added, removed or edited
        (its count, newest id, and sums of its amounts and days weighted by row): the sync
        copies the costs again only when it moved. None (always copy) off SQLite."""
        if self.engine.dialect.name != "sqlite":
            return None
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT count(*), max(id), total(amount), total(amount * rowid),"
                " total(julianday(day) * rowid), group_concat(DISTINCT currency)"
                " FROM campaign_costs"
            ).one()
        return ":".join(map(str, row))

    def count(self, table: str) -> int:
        """How many rows one of :data:`RECORD_COLUMNS`' tables holds."""
        assert table in RECORD_COLUMNS
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())

    def leads(self, ids: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        """Every lead (``ids=None``) or these ones."""
        return self._batches("leads", "id", LEAD_COLUMNS, ids)

    def transitions(self, ids: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
        """Every stage change, or those of these leads."""
        return self._batches("stage_transitions", "lead_id", TRANSITION_COLUMNS, ids)


def _json(value: object) -> str | None:
    """A JSON column's value as JSON text (SQLite gives text, PostgreSQL the parsed document)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _fetch(cursor: object, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    while True:
        rows = cursor.fetchmany(_CHUNK)  # type: ignore[attr-defined]
        if not rows:
            return
        arrays = [
            pa.array(
                [_json(v) for v in values]
                if name in _JSON
                else [None if v is None else str(v) for v in values],
                pa.string(),
            )
            for name, values in zip(columns, zip(*rows, strict=True), strict=True)
        ]
        yield pa.RecordBatch.from_arrays(arrays, names=list(columns))
