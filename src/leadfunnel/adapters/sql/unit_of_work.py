"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine

from leadfunnel.adapters.sql.auth_store import SqlAuth
from leadfunnel.adapters.sql.crm_store import SqlCrm
from leadfunnel.adapters.sql.engine import WRITE_OPTION
from leadfunnel.adapters.sql.job_store import SqlJobs
from leadfunnel.adapters.sql.lead_queries import SqlLeadStore
from leadfunnel.adapters.sql.repositories import (
    SqlActivities,
    SqlAudit,
    SqlIdempotency,
    SqlRecords,
    SqlTouchpoints,
    SqlTransitions,
)
from leadfunnel.adapters.sql.routing_store import SqlRouting
from leadfunnel.adapters.sql.scoring_store import SqlScoring
from leadfunnel.services.ports import (
    ActivityRepository,
    AuditLog,
    AuthStore,
    CrmStore,
    IdempotencyStore,
    JobStore,
    LeadRepository,
    Records,
    RoutingStore,
    ScoringStore,
    TouchpointRepository,
    TransitionRepository,
)

__all__ = ["BULK_CHECKPOINT_PAGES", "SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    ``write=False`` opens a read-only transaction (a deferred ``BEGIN`` on SQLite), which
    never waits for or blocks the writer.

    ``bulk=True`` (one of an import's batches) lets SQLite's write-ahead log grow to
    :data:`BULK_CHECKPOINT_PAGES` before a commit copies it into the database file, instead
    of the default 1,000 pages: a large batch otherwise pays for a checkpoint at every
    commit, writing its pages twice. Durability is unchanged (every commit still syncs the
    log); the connection's own setting is restored afterwards.
    """

    leads: LeadRepository
    transitions: TransitionRepository
    touchpoints: TouchpointRepository
    activities: ActivityRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    records: Records
    scoring: ScoringStore
    routing: RoutingStore
    jobs: JobStore
    auth: AuthStore
    crm: CrmStore

    def __init__(self, engine: Engine, *, write: bool = True, bulk: bool = False) -> None:
        self._engine = engine
        self._write = write
        self._checkpoint_pages = (
            BULK_CHECKPOINT_PAGES if bulk and write and engine.dialect.name == "sqlite" else None
        )
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._engine.connect().execution_options(**{WRITE_OPTION: self._write})
        conn.begin()
        self._conn = conn
        if self._checkpoint_pages is not None:
            self._checkpoint_pages = _swap_checkpoint_pages(conn, self._checkpoint_pages)
        self.leads = SqlLeadStore(conn)
        self.transitions = SqlTransitions(conn)
        self.touchpoints = SqlTouchpoints(conn)
        self.activities = SqlActivities(conn)
        self.audit = SqlAudit(conn)
        self.idempotency = SqlIdempotency(conn)
        self.records = SqlRecords(conn)
        self.scoring = SqlScoring(conn)
        self.routing = SqlRouting(conn)
        self.jobs = SqlJobs(conn)
        self.auth = SqlAuth(conn)
        self.crm = SqlCrm(conn)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
            if self._checkpoint_pages is not None:
                _swap_checkpoint_pages(self._conn, self._checkpoint_pages)
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        assert self._conn is not None
        if not self._write:
            raise RuntimeError("commit() called on a read-only unit of work")
        self._conn.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, write: bool = True, bulk: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, bulk=bulk)


#: Write-ahead log pages (4 KiB each) a bulk write lets accumulate before a checkpoint.
BULK_CHECKPOINT_PAGES = 32_768


def _swap_checkpoint_pages(conn: Connection, pages: int) -> int:
    """Set the SQLite connection's ``wal_autocheckpoint``; return the previous value. (On
    the driver's connection: a statement through ``conn`` outside a transaction would begin
    one.)"""
    driver = conn.connection.driver_connection
    assert driver is not None
    (previous,) = driver.execute("PRAGMA wal_autocheckpoint").fetchone()
    driver.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
    return int(previous)
