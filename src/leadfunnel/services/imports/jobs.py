"""Reading import jobs (what the API's job status shows)."""

from __future__ import annotations

import uuid

from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = ["import_job"]


def import_job(*, uow_factory: UnitOfWorkFactory, job_id: uuid.UUID) -> Row | None:
    """The job's row: kind, file, status (running, completed), rows done and the counters."""
    with uow_factory(write=False) as uow:
        found = uow.records.select_in("import_jobs", "id", [job_id])
    return found[0] if found else None
