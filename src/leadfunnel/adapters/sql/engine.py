"""Engines for the write store, set up the way leadfunnel relies on.

SQLite (the embedded default) gets, on every connection: ``journal_mode=WAL`` (readers never
block the writer), ``synchronous=FULL`` (a committed transaction survives power loss),
``foreign_keys=ON`` and a ``busy_timeout``. Write transactions open with ``BEGIN
IMMEDIATE``, so two writers queue at the start instead of failing with "database is locked"
at commit; read-only units of work open a plain deferred ``BEGIN``. :func:`create_store_engine`
reads the pragmas back and refuses to run when any did not take.

PostgreSQL is chosen by a ``postgresql+psycopg://`` URL and runs at READ COMMITTED; the
unique indexes decide races there (the loser gets :class:`ConcurrentWrite` and retries).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from leadfunnel.domain.errors import StorageError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "WRITE_OPTION", "create_store_engine", "describe_url"]

WRITE_OPTION = "leadfunnel_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_EXPECTED_PRAGMAS = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


# One encoder for every document: ``json.dumps`` with options builds a new one per call,
# which costs as much as encoding a small document (bulk writes encode thousands).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def _json_dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def describe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def create_store_engine(url: str, *, create_missing: bool = True) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    With ``create_missing=False`` a SQLite file that does not exist is an error instead of
    being created empty (a mistyped path must not leave a stray database behind).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"'{url}' is not a database URL (expected sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, create_missing)
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise StorageError(
                "PostgreSQL URLs must use the psycopg 3 driver: postgresql+psycopg://..."
            )
        return create_engine(
            url, json_serializer=_json_dumps, pool_pre_ping=True, pool_size=10, max_overflow=30
        )
    raise StorageError(
        f"unsupported database '{parsed.get_backend_name()}'; use SQLite or PostgreSQL"
    )


def _sqlite_engine(url: str, database: str | None, create_missing: bool) -> Engine:
    if not database or database == ":memory:":
        raise StorageError(
            "SQLite needs a file (sqlite:///path/to/leadfunnel.db); in-memory databases cannot use WAL"
        )
    path = Path(database).expanduser().resolve()
    if not path.exists() and not create_missing:
        raise StorageError(
            f"database file {path} does not exist; create it with: leadfunnel db upgrade --db '{path}'"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, json_serializer=_json_dumps, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    _assert_sqlite_pragmas(engine)
    return engine


def _assert_sqlite_pragmas(engine: Engine) -> None:
    with engine.connect() as conn:
        actual = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in _EXPECTED_PRAGMAS
        }
        busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    wrong = {k: v for k, v in actual.items() if str(v).lower() != str(_EXPECTED_PRAGMAS[k])}
    if wrong or not busy:
        raise StorageError(
            f"SQLite did not accept the required settings {wrong or {'busy_timeout': busy}}; "
            "is the file on a network file system or read-only?"
        )
