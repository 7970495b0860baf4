"""Analytics engines behind one port: DuckDB for the embedded default, PostgreSQL directly.

Both run the same Ibis builders (``funnel_builder.py``) over the same milestone expression;
they differ only in where the tables live and how times are typed (DuckDB: naive UTC;
PostgreSQL: ``timestamptz`` in a UTC session).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from leadfunnel.adapters.warehouse.duckdb_store import DuckDbStore, SyncStats
from leadfunnel.adapters.warehouse.funnel_builder import build_funnel
from leadfunnel.adapters.warehouse.milestones import milestones
from leadfunnel.adapters.warehouse.results import funnel_result
from leadfunnel.adapters.warehouse.source import WriteStoreReader
from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.analytics.funnel_spec import FunnelSpec

__all__ = ["DuckDbEngine", "PostgresEngine", "analytics_engine", "analytics_path"]


def _records(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()  # type: ignore[no-any-return]


class DuckDbEngine:
    """Funnels over the DuckDB file beside a SQLite write store, synced before each question."""

    def __init__(self, write_engine: Engine, path: Path) -> None:
        self.store = DuckDbStore(path)
        self.reader = WriteStoreReader(write_engine)

    def sync(self, *, now: datetime) -> SyncStats:
        return self.store.sync(self.reader, now=now)

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult:
        self.sync(now=now)
        con = self.store.connect()
        try:
            expr = build_funnel(
                con.table("milestones"),
                con.table("stage_transitions"),
                spec,
                now=now.astimezone(UTC).replace(tzinfo=None),
            )
            return funnel_result(_records(expr), spec)
        finally:
            con.disconnect()


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

    def sync(self, *, now: datetime) -> None:
        """Nothing to do: PostgreSQL is queried directly."""

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult:
        con = self._connect()
        try:
            transitions = con.table("stage_transitions")
            m = milestones(con.table("leads"), transitions)
            return funnel_result(
                _records(build_funnel(m, transitions, spec, now=now.astimezone(UTC))), spec
            )
        finally:
            con.disconnect()


def analytics_path(database_url: str) -> Path:
    """Where the DuckDB file of a SQLite write store lives: beside it, ``.duckdb`` suffix."""
    return Path(make_url(database_url).database or "leadfunnel.db").with_suffix(".duckdb")


def analytics_engine(write_engine: Engine) -> DuckDbEngine | PostgresEngine:
    if write_engine.dialect.name == "postgresql":
        return PostgresEngine(write_engine)
    return DuckDbEngine(write_engine, analytics_path(str(write_engine.url)))
