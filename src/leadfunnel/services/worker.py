"""The background worker: claims due jobs from the job table and runs them.

``run_due_jobs`` is one pass: claim up to ``limit`` due jobs under a lease (one short
transaction), then run each in its own transaction, marking it done in the same commit as
its effects. A job that raises is retried with exponential back-off (1, 2, 4, 8 minutes)
and marked ``failed`` after :data:`MAX_ATTEMPTS`. A worker that dies mid-job leaves the job
``running`` until its lease ends; the next pass of any worker claims it again, and the
handler, being idempotent, does the work once.

``leadfunnel worker`` loops over passes; ``leadfunnel worker --once`` runs one (for cron).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.sla import check_sla, return_stagnant, stagnation_days

__all__ = ["HANDLERS", "MAX_ATTEMPTS", "WorkerPass", "run_due_jobs", "schedule_sweeps"]

MAX_ATTEMPTS = 5
Handler = Callable[[UnitOfWork, dict[str, Any], datetime, str], str]


def _sla_check(uow: UnitOfWork, job: dict[str, Any], now: datetime, actor: str) -> str:
    due = datetime.fromisoformat(job["payload"]["due_at"])
    return check_sla(uow=uow, lead_id=job["lead_id"], due_at=due, now=now, actor=actor)


SWEEP_EVERY = timedelta(hours=1)


def sweep_job(run_at: datetime, now: datetime) -> dict[str, Any]:
    return {"id": new_id(), "kind": "stagnation.sweep", "lead_id": None, "run_at": run_at, "status": "pending",
            "payload": {}, "lease_until": None, "attempts": 0, "last_error": None, "created_at": now, "done_at": None}  # fmt: skip


def _stagnation_sweep(uow: UnitOfWork, job: dict[str, Any], now: datetime, actor: str) -> str:
    returned = return_stagnant(uow=uow, now=now, actor=actor)
    others = [other for other in uow.jobs.pending("stagnation.sweep") if other["id"] != job["id"]]
    if stagnation_days(uow) is not None and not others:
        uow.jobs.enqueue([sweep_job(now + SWEEP_EVERY, now)])
    return f"stagnation sweep: {returned} leads returned to the pool"


HANDLERS: dict[str, Handler] = {"sla.check": _sla_check, "stagnation.sweep": _stagnation_sweep}


def schedule_sweeps(*, uow_factory: UnitOfWorkFactory, now: datetime) -> bool:
    """Make sure a stagnation sweep is scheduled when the active SLA rules ask for one."""
    with uow_factory() as uow:
        if stagnation_days(uow) is None or uow.jobs.pending("stagnation.sweep"):
            return False
        uow.jobs.enqueue([sweep_job(now, now)])
        uow.commit()
    return True


@dataclass
class WorkerPass:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "done": self.done,
            "failed": self.failed,
            "outcomes": dict(self.outcomes),
        }


def run_due_jobs(*, uow_factory: UnitOfWorkFactory, now: datetime, worker: str,
                 lease: timedelta = timedelta(minutes=5), limit: int = 100) -> WorkerPass:  # fmt: skip
    """One pass over the due jobs (see the module docstring)."""
    report = WorkerPass()
    with uow_factory() as uow:
        claimed = uow.jobs.claim(now, now + lease, limit)
        uow.commit()
    report.claimed = len(claimed)
    for job in claimed:
        handler = HANDLERS.get(job["kind"])
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind '{job['kind']}'")
            with uow_factory() as uow:
                outcome = handler(uow, job, now, worker)
                uow.jobs.finish(job["id"], now)
                uow.commit()
            report.done += 1
            report.outcomes[outcome] += 1
        except Exception as exc:
            _retry(uow_factory, job["id"], job["attempts"] + 1, now, f"{type(exc).__name__}: {exc}")
            report.failed += 1
    return report


def _retry(
    uow_factory: UnitOfWorkFactory, job_id: uuid.UUID, attempts: int, now: datetime, error: str
) -> None:
    with uow_factory() as uow:
        uow.jobs.retry(
            job_id,
            now + timedelta(minutes=2 ** (attempts - 1)),
            error,
            give_up=attempts >= MAX_ATTEMPTS,
        )
        uow.commit()
