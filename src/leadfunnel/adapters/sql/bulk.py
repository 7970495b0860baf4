"""Bulk loading column batches (:mod:`leadfunnel.services.demo.batches`) into the write store.

For generated data at volume (the demo simulator writes millions of rows). Values are
encoded column by column with numpy into exactly what SQLAlchemy would store, then handed
to the driver in bulk, all in **one transaction**: nothing is visible before
:meth:`BulkWriter.commit`, and an error rolls everything back.

=============  =============================================  =================================
value          SQLite (as SQLAlchemy stores it)               PostgreSQL (``COPY`` text)
=============  =============================================  =================================
UUID           32 hex digits, no dashes                       the same, parsed as ``uuid``
UTC time       naive UTC text ``2025-01-31 09:30:00.000000``  the same with ``+00``
date           ``2025-01-31``                                 the same
flag           0 / 1                                          ``t`` / ``f``
money          REAL (SQLAlchemy's ``Numeric`` on SQLite)      ``numeric``
JSON document  text                                           ``jsonb``
=============  =============================================  =================================

**SQLite** gets multi-row ``INSERT`` statements on the raw ``sqlite3`` connection, with
foreign keys enforced as always. When every table of the database is empty (a fresh demo
database: nothing to lose) the load is tuned, for the duration of the transaction only:

* foreign keys are checked once for the whole load (``PRAGMA foreign_key_check`` before
  ``COMMIT``; any dangling reference rolls everything back) instead of row by row;

* ``journal_mode=MEMORY``, ``synchronous=OFF``, a 1 GiB page cache and in-memory sorting:
  a crash in the middle can leave a corrupt file, which the demo simply rebuilds;
* the secondary indexes of the append-only logs (:data:`REBUILT_INDEX_TABLES`: many narrow
  rows) and the leads' company-key and change-time indexes (:data:`REBUILT_INDEXES`: keys
  arrive in random order, the costliest to maintain row by row) are dropped and re-created from their exact
  ``CREATE INDEX`` text at commit: one sort each instead of millions of b-tree inserts. The
  wide ``leads`` table keeps its other indexes: their keys arrive nearly in order, and each
  rebuild would cost a full scan of the table.

Afterwards ``journal_mode=WAL`` and ``synchronous=FULL`` are restored and the connection is
discarded, so no connection ever runs with the relaxed settings again. A database holding
any row is loaded with the normal settings (WAL, ``synchronous=FULL``, indexes in place).

**PostgreSQL** gets ``COPY ... FROM STDIN`` through psycopg for inserts, ``executemany``
for updates.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, Table

from leadfunnel.adapters.sql.tables import metadata
from leadfunnel.domain.errors import StorageError
from leadfunnel.services.demo.batches import TableBatch

__all__ = ["REBUILT_INDEXES", "REBUILT_INDEX_TABLES", "BulkWriter", "encode_column", "format_times"]

REBUILT_INDEX_TABLES = (
    "stage_transitions",
    "touchpoints",
    "activities",
    "assignments",
    "opportunity_stage_history",
)
REBUILT_INDEXES = ("ix_leads_company_key", "ix_leads_updated_at")
_US_PER_DAY = 86_400_000_000
_FAST_CACHE_KIB = 1 << 20  # 1 GiB of page cache while loading a fresh SQLite file
_ROWS_PER_STATEMENT = 1000


def format_times(values: npt.NDArray[np.datetime64], suffix: str = "") -> list[str | None]:
    """``datetime64[us]`` (UTC) as ``'YYYY-MM-DD HH:MM:SS.ffffff' + suffix``; NaT as None.

    The digits are computed with array arithmetic, several times faster than
    ``numpy.datetime_as_string`` for the millions of times a demo writes.

    >>> format_times(np.array(["2025-01-31T09:30:00.000250", "NaT"], dtype="datetime64[us]"))
    ['2025-01-31 09:30:00.000250', None]
    """
    if len(values) == 0:
        return []
    missing = np.isnat(values)
    us = np.where(missing, 0, values.astype("datetime64[us]").astype(np.int64))
    days, rest = np.divmod(us, _US_PER_DAY)
    first, last = int(days.min()), int(days.max())
    if last - first < len(days) + 1000:  # dense: a calendar of every day in the span
        calendar, index = np.arange(first, last + 1), days - first
    else:  # sparse: only the days that occur
        calendar, index = np.unique(days, return_inverse=True)
    day_text = np.char.encode(calendar.astype("datetime64[D]").astype("U10"), "ascii")
    width = 26 + len(suffix)
    out = np.empty((len(us), width), dtype=np.uint8)
    out[:, :10] = day_text.view(np.uint8).reshape(-1, 10)[index]
    out[:, 10:26] = np.frombuffer(b" 00:00:00.000000", dtype=np.uint8)
    out[:, 26:] = np.frombuffer(suffix.encode("ascii"), dtype=np.uint8)
    for column, unit in ((11, 3_600_000_000), (14, 60_000_000), (17, 1_000_000)):
        value, rest = np.divmod(rest, unit)
        _write_digits(out, column, value, 2)
    _write_digits(out, 20, rest, 6)
    text = out.tobytes().decode("ascii")
    strings: list[str | None] = [text[i : i + width] for i in range(0, len(text), width)]
    for i in np.flatnonzero(missing).tolist():
        strings[i] = None
    return strings


def _write_digits(
    out: npt.NDArray[np.uint8], column: int, value: npt.NDArray[np.int64], count: int
) -> None:
    for k in range(count):
        out[:, column + k] = 48 + (value // 10 ** (count - 1 - k)) % 10


def encode_column(values: npt.NDArray[Any], dialect: str) -> list[Any]:
    """One batch column as driver values for ``dialect`` (see the module's table)."""
    kind = values.dtype.kind
    if kind == "M":
        if np.datetime_data(values.dtype)[0] == "D":
            return [None if np.isnat(v) else str(v) for v in values]
        return format_times(values, "+00" if dialect == "postgresql" else "")
    if kind == "f":
        return [None if v != v else v for v in values.tolist()]  # NaN is NULL
    if kind == "b" and dialect != "postgresql":
        values = values.astype(np.int64)
    plain: list[Any] = values.tolist()
    return plain


def _checked_table(batch: TableBatch) -> Table:
    """The batch's table; its name and column names are then safe to put in SQL text."""
    table = metadata.tables.get(batch.table)
    if table is None:
        raise ValueError(f"no table '{batch.table}' in the schema")
    unknown = sorted(set(batch.columns) - set(table.c.keys()))
    if unknown:
        raise ValueError(f"table '{batch.table}' has no column(s) {', '.join(unknown)}")
    return table


class BulkWriter:
    """``with BulkWriter(engine) as writer: writer.write(batch); ...; writer.commit()``.

    Leaving the block without :meth:`commit` rolls everything back.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._raw: Any = None
        self._relaxed = False
        self._dropped_indexes: list[str] = []
        self._committed = False

    @property
    def tuned(self) -> bool:
        """Whether this load runs with the fresh-database settings (see the module doc)."""
        return self._relaxed

    def __enter__(self) -> Self:
        if self._dialect == "sqlite":
            # SQLite leaves WAL only for a sole connection: close the pool's idle ones.
            self._engine.dispose()
        self._raw = self._engine.raw_connection()
        if self._dialect == "sqlite":
            self._begin_sqlite(self._raw.driver_connection)
        return self

    def _begin_sqlite(self, driver: sqlite3.Connection) -> None:
        if _all_tables_empty(driver):
            self._relaxed = _leave_wal(driver)
        if self._relaxed:
            driver.execute("PRAGMA foreign_keys=OFF")  # checked once, at commit
            driver.execute("PRAGMA synchronous=OFF")
            driver.execute(f"PRAGMA cache_size=-{_FAST_CACHE_KIB}")
            driver.execute("PRAGMA temp_store=MEMORY")
        driver.execute("BEGIN IMMEDIATE")
        if self._relaxed:
            self._dropped_indexes = _drop_rebuilt_indexes(driver)

    def write(self, batch: TableBatch) -> None:
        """Insert the batch's rows (or, with ``batch.key``, update the rows it names)."""
        if batch.rows == 0:
            return
        table = _checked_table(batch)
        names = list(batch.columns)
        values = [encode_column(batch.columns[name], self._dialect) for name in names]
        if batch.key is not None:
            self._update(table, batch.key, names, values)
        elif self._dialect == "postgresql":
            self._copy(table, names, values)
        else:
            self._insert_sqlite(table, names, values)

    def _insert_sqlite(self, table: Table, names: list[str], values: list[list[Any]]) -> None:
        """Multi-row ``INSERT ... VALUES (...), (...), ...`` statements of up to
        :data:`_ROWS_PER_STATEMENT` rows: about twice as fast as ``executemany``, whose
        per-row overhead dominates for narrow rows."""
        driver = self._raw.driver_connection
        width, rows = len(names), len(values[0])
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(_ROWS_PER_STATEMENT, limit // width))
        grid = np.empty((rows, width), dtype=object)
        for j, column in enumerate(values):
            grid[:, j] = column
        flat = grid.ravel().tolist()
        head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "  # noqa: S608 - checked names
        row = "(" + ", ".join("?" * width) + ")"
        full = rows - rows % per
        statement = head + ", ".join([row] * per)
        for start in range(0, full * width, per * width):
            driver.execute(statement, flat[start : start + per * width])
        if rows > full:
            driver.execute(head + ", ".join([row] * (rows - full)), flat[full * width :])

    def _copy(self, table: Table, names: list[str], values: list[list[Any]]) -> None:
        sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        with self._raw.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in zip(*values, strict=True):
                copy.write_row(row)

    def _update(self, table: Table, key: str, names: list[str], values: list[list[Any]]) -> None:
        others = [n for n in names if n != key]
        mark = "%s" if self._dialect == "postgresql" else "?"
        assignments = ", ".join(f"{n} = {mark}" for n in others)
        sql = f"UPDATE {table.name} SET {assignments} WHERE {key} = {mark}"  # noqa: S608 - checked names
        rows = list(zip(*(values[names.index(n)] for n in (*others, key)), strict=True))
        cursor = self._raw.driver_connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def commit(self) -> None:
        driver = self._raw.driver_connection
        if self._dialect == "sqlite":
            for create in self._dropped_indexes:
                driver.execute(create)
            if self._relaxed:
                _check_foreign_keys(driver)
            driver.execute("COMMIT")
        else:
            driver.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        raw, self._raw = self._raw, None
        try:
            driver = raw.driver_connection
            if not self._committed and self._dialect == "sqlite" and driver.in_transaction:
                driver.execute("ROLLBACK")  # also brings back any dropped index
            elif not self._committed and self._dialect != "sqlite":
                driver.rollback()
            if self._relaxed:
                driver.execute("PRAGMA foreign_keys=ON")
                driver.execute("PRAGMA journal_mode=WAL")
                driver.execute("PRAGMA synchronous=FULL")
        finally:
            if self._relaxed:
                raw.invalidate()  # never hand the relaxed connection back to the pool
            raw.close()


def _all_tables_empty(driver: sqlite3.Connection) -> bool:
    for table in metadata.sorted_tables:
        if driver.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone():  # noqa: S608 - schema names
            return False
    return True


def _check_foreign_keys(driver: sqlite3.Connection) -> None:
    """Refuse to commit a tuned load that left a dangling reference (checked once for the
    whole load instead of row by row: a fraction of the cost)."""
    dangling = driver.execute("PRAGMA foreign_key_check").fetchmany(5)
    if dangling:
        shown = "; ".join(
            f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in dangling
        )
        raise StorageError(f"bulk load refers to rows that do not exist: {shown}")


def _leave_wal(driver: sqlite3.Connection) -> bool:
    """Switch to ``journal_mode=MEMORY``; False (staying in WAL) when another connection has
    the file open, which SQLite requires to be closed for leaving WAL."""
    timeout = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute("PRAGMA busy_timeout=0")
    try:
        return bool(driver.execute("PRAGMA journal_mode=MEMORY").fetchone()[0] == "memory")
    except sqlite3.OperationalError:  # "database is locked": someone else is connected
        return False
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(timeout)}")


def _drop_rebuilt_indexes(driver: sqlite3.Connection) -> list[str]:
    """Drop the indexes rebuilt after a load; return their ``CREATE INDEX`` statements."""
    found = [
        (name, sql)
        for name, table, sql in driver.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        )
        if sql is not None  # automatic (primary key, unique) indexes have none
        and (table in REBUILT_INDEX_TABLES or name in REBUILT_INDEXES)
    ]
    for name, _ in found:
        driver.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]
