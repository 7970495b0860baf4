"""The database-backed job queue, and the SLA clocks and notifications jobs act on.

Claiming is safe with several workers: on PostgreSQL the due rows are locked with
``FOR UPDATE SKIP LOCKED`` (a worker never waits for, or takes, another's rows); on SQLite
the claim is one ``UPDATE`` in a write transaction, which SQLite runs one at a time. A
claimed job holds a lease; a worker that dies leaves it ``running`` until the lease ends,
then any worker may claim it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.services.ports import Row

__all__ = ["SqlJobs"]


class SqlJobs(_Repo):
    def enqueue(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.jobs, rows)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Row]:
        """Due jobs (pending and due, or running with an expired lease), marked running."""
        j = t.jobs.c
        due = or_(
            and_(j.status == "pending", j.run_at <= now),
            and_(j.status == "running", j.lease_until < now),
        )
        query = select(t.jobs).where(due).order_by(j.run_at, j.id).limit(limit)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        found = self._rows(query)
        if found:
            self._run(
                t.jobs.update()
                .where(j.id.in_([row["id"] for row in found]))
                .values(status="running", lease_until=lease_until, attempts=j.attempts + 1)
            )
        return found

    def finish(self, job_id: uuid.UUID, now: datetime) -> None:
        self._run(
            t.jobs.update()
            .where(t.jobs.c.id == job_id)
            .values(status="done", done_at=now, lease_until=None)
        )

    def retry(self, job_id: uuid.UUID, run_at: datetime, error: str, *, give_up: bool) -> None:
        self._run(
            t.jobs.update()
            .where(t.jobs.c.id == job_id)
            .values(
                status="failed" if give_up else "pending",
                run_at=run_at,
                lease_until=None,
                last_error=error[:2000],
            )
        )

    def pending(self, kind: str | None = None) -> list[Row]:
        j = t.jobs.c
        query = select(t.jobs).where(j.status.in_(("pending", "running"))).order_by(j.run_at)
        if kind is not None:
            query = query.where(j.kind == kind)
        return self._rows(query)

    def due_slas(self, now: datetime, limit: int) -> list[Row]:
        """Open SLA clocks past their deadline (the ``(status, due_at)`` index answers this)."""
        s = t.lead_sla.c
        query = (
            select(t.lead_sla)
            .where(s.status == "due", s.due_at <= now)
            .order_by(s.due_at)
            .limit(limit)
        )
        return self._rows(query)

    def notify(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.notifications, rows)

    def notifications(self, user_id: uuid.UUID | None = None) -> list[Row]:
        n = t.notifications.c
        query = select(t.notifications).order_by(n.created_at, n.id)
        if user_id is not None:
            query = query.where(n.user_id == user_id)
        return self._rows(query)

    def team_manager(self, team_id: uuid.UUID) -> uuid.UUID | None:
        row = self._one(select(t.teams.c.manager_id).where(t.teams.c.id == team_id))
        return None if row is None else row["manager_id"]
