"""Import jobs as callers see them: who may import, and which jobs each person may read.

One policy for the API and the dashboard: importing needs the ``leads:write`` scope and the
role of an admin, manager or marketer; a job is read by the person who started it, and by
admins (any job). A job someone else started is *not found*, never *forbidden*, so a job id
tells an outsider nothing.
"""

from __future__ import annotations

import uuid

from leadfunnel.domain.access import Principal, Role, require_role, require_scope
from leadfunnel.domain.errors import NotFound
from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = [
    "IMPORT_ROLES",
    "import_job",
    "recent_import_jobs",
    "require_importer",
    "visible_import_job",
]

#: The roles that may import files (a rep's leads come to them by routing).
IMPORT_ROLES: tuple[Role, ...] = ("admin", "manager", "marketer")
_COLUMNS = ("id", "kind", "file_name", "status", "total_rows", "rows_done", "created", "merged",
            "unchanged", "rejected", "actor", "started_at", "updated_at", "finished_at")  # fmt: skip


def require_importer(principal: Principal) -> None:
    require_scope(principal, "leads:write")
    require_role(principal, *IMPORT_ROLES, action="importing")


def import_job(*, uow_factory: UnitOfWorkFactory, job_id: uuid.UUID) -> Row | None:
    """The job's row: kind, file, status (running, completed), rows done and the counters."""
    with uow_factory(write=False) as uow:
        found = uow.records.select_in("import_jobs", "id", [job_id])
    return found[0] if found else None


def visible_import_job(*, uow_factory: UnitOfWorkFactory, principal: Principal, job_id: str) -> Row:
    """The job ``job_id`` names, if ``principal`` may read it; else :class:`NotFound`."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise NotFound("import job", job_id) from None
    job = import_job(uow_factory=uow_factory, job_id=key)
    if job is None or (principal.role != "admin" and job["actor"] != principal.actor):
        raise NotFound("import job", job_id)
    return job


def recent_import_jobs(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, limit: int = 20
) -> list[Row]:
    """The newest ``limit`` jobs ``principal`` may read, newest first. Jobs are few (one
    per file imported), so an admin's list reads them all and keeps the newest."""
    with uow_factory(write=False) as uow:
        if principal.role == "admin":
            rows = [dict(zip(_COLUMNS, r, strict=True))
                    for r in uow.records.scan("import_jobs", _COLUMNS)]  # fmt: skip
        else:
            rows = uow.records.select_in("import_jobs", "actor", [principal.actor])
    return sorted(rows, key=lambda r: (r["started_at"], r["id"]), reverse=True)[:limit]
