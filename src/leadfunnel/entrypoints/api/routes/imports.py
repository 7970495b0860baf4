"""Imports over HTTP: upload a CSV/XLSX (and optionally a TOML mapping), read the job, download
its error report. Each upload runs through the same import as ``leadfunnel import``."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.adapters.files.writers import write_csv
from leadfunnel.domain.access import Principal, require_role, require_scope
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.entrypoints.api.security import ApiState, CallerDep, state_of
from leadfunnel.services.imports.jobs import import_job
from leadfunnel.services.imports.mapping import load_mapping
from leadfunnel.services.imports.runner import KINDS, import_errors, run_import

__all__ = ["MAX_UPLOAD", "router"]

router = APIRouter(prefix="/imports", tags=["imports"])
MAX_UPLOAD = 50 * 1024 * 1024
_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


def _importer(principal: Principal) -> None:
    require_scope(principal, "leads:write")
    require_role(principal, "admin", "manager", "marketer", action="importing")


def _job(state: ApiState, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job, if the caller started it (admins: any); otherwise not found."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise NotFound("import job", job_id) from None
    job = import_job(uow_factory=state.app.uow_factory, job_id=key)
    if job is None or (principal.role != "admin" and job["actor"] != principal.actor):
        raise NotFound("import job", job_id)
    return job


def _run(state: ApiState, principal: Principal, kind: str, name: str, data: bytes,
         mapping: bytes | None) -> dict[str, Any]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="leadfunnel-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        plan = None
        if mapping is not None:
            (Path(folder) / "mapping.toml").write_bytes(mapping)
            plan = load_mapping(Path(folder) / "mapping.toml")
        options = plan.options if plan else {}
        table = read_tabular(path, encoding=options.get("encoding"), delimiter=options.get("delimiter"),
                             sheet=options.get("sheet"))  # fmt: skip
        summary = run_import(uow_factory=state.app.uow_factory, source=table, kind=kind, mapping=plan,
                             actor=principal.actor, clock=state.app.clock,
                             default_region=state.app.settings.default_region, workers=0)  # fmt: skip
    return summary.to_dict()


@router.post("/{kind}", status_code=201, summary="Upload a CSV/XLSX file and import it")
async def upload_route(
    request: Request,
    who: CallerDep,
    kind: str,
    file: Annotated[UploadFile, File(description="The CSV or XLSX file.")],
    mapping: Annotated[UploadFile | None, File(description="A TOML mapping file.")] = None,
) -> dict[str, Any]:
    _importer(who.principal)
    if kind not in KINDS:
        raise ValidationError(
            "kind", f"unknown import kind '{kind}'; expected one of: {', '.join(KINDS)}"
        )
    name = Path(file.filename or "upload.csv").name
    if not name.lower().endswith(_SUFFIXES):
        raise ValidationError(
            "file", f"'{name}' is not a CSV or XLSX file ({', '.join(_SUFFIXES)})"
        )
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ApiProblem(
            413, f"an upload is at most {MAX_UPLOAD // 1024 // 1024} MiB", code="too_large"
        )
    plan = await mapping.read(1024 * 1024) if mapping is not None else None
    state = state_of(request)
    return await run_in_threadpool(_run, state, who.principal, kind, name, data, plan)


@router.get("/{job_id}", summary="An import job: counts and status")
def job_route(request: Request, who: CallerDep, job_id: str) -> dict[str, Any]:
    _importer(who.principal)
    return _job(state_of(request), who.principal, job_id)


@router.get("/{job_id}/errors", summary="The job's rejected rows as CSV (row, column, value, reason)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})  # fmt: skip
def errors_route(request: Request, who: CallerDep, job_id: str) -> Response:
    _importer(who.principal)
    state = state_of(request)
    job = _job(state, who.principal, job_id)
    rows = import_errors(uow_factory=state.app.uow_factory, job_id=job["id"])
    with tempfile.TemporaryDirectory(prefix="leadfunnel-report-") as folder:
        path = Path(folder) / "errors.csv"
        write_csv(path, ["row", "column", "value", "reason"],
                  ([e["row_number"], e["column_name"], e["value"], e["reason"]] for e in rows))  # fmt: skip
        body = path.read_bytes()
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{job_id}-errors.csv"'})  # fmt: skip
