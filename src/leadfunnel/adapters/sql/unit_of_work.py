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

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    ``write=False`` opens a read-only transaction (a deferred ``BEGIN`` on SQLite), which
    never waits for or blocks the writer.
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

    def __init__(self, engine: Engine, *, write: bool = True) -> None:
        self._engine = engine
        self._write = write
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._engine.connect().execution_options(**{WRITE_OPTION: self._write})
        conn.begin()
        self._conn = conn
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

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write)
