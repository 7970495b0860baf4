"""The composition root: builds the engine, unit-of-work factory and clock for entry points."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from leadfunnel.adapters.clock import utc_now
from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.migrate import ensure_current
from leadfunnel.adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from leadfunnel.config import Settings
from leadfunnel.services.ports import AnalyticsEngine, Clock

__all__ = ["App", "build_app"]


@dataclass
class App:
    settings: Settings
    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    clock: Clock
    _analytics: AnalyticsEngine | None = field(default=None, init=False, repr=False, compare=False)
    _analytics_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def close(self) -> None:
        closing = getattr(self._analytics, "close", None)
        if callable(closing):
            closing()
        self.engine.dispose()

    @property
    def analytics(self) -> AnalyticsEngine:
        """The analytics engine for this store (DuckDB beside SQLite; PostgreSQL directly;
        Spark when ``settings.analytics`` says so).

        Imported on first use: Ibis and DuckDB take most of a second to load, which commands
        that never ask an analytics question should not pay. One per app, made once even
        when several threads ask at once: the engine remembers what it last synced, so a
        question asked when nothing was written since the last one skips the sync (an engine
        per question would sync every time), and it keeps its sync and its readers apart."""
        with self._analytics_lock:
            if self._analytics is None:
                from leadfunnel.adapters.warehouse.engine import analytics_engine

                self._analytics = analytics_engine(self.engine, self.settings.analytics)
            return self._analytics


def build_app(settings: Settings, *, clock: Clock = utc_now, require_schema: bool = True) -> App:
    """Wire the app. With ``require_schema`` the database must be migrated to the code's head."""
    engine = create_store_engine(settings.database_url, create_missing=not require_schema)
    try:
        if require_schema:
            ensure_current(engine)
    except Exception:
        engine.dispose()
        raise
    return App(
        settings=settings, engine=engine, uow_factory=SqlUnitOfWorkFactory(engine), clock=clock
    )
