"""Imports over HTTP: upload a CSV/XLSX (and optionally a TOML mapping), read the job, download
its error report. Each upload runs through the same import as ``leadfunnel import``.

The dashboard's import page (``entrypoints/web/pages/imports.py``) uses the same checks and
runs through :func:`import_file` and :func:`error_report`, so a file imported from either
answers alike."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.adapters.files.writers import write_csv
from leadfunnel.domain.access import Principal
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.entrypoints.api.security import ApiState, CallerDep, state_of
from leadfunnel.services.imports.jobs import require_importer, visible_import_job
from leadfunnel.services.imports.mapping import ColumnMapping, load_mapping
from leadfunnel.services.imports.runner import KINDS, import_errors, run_import

__all__ = ["MAX_UPLOAD", "error_report", "import_file", "router", "upload_name"]

router = APIRouter(prefix="/imports", tags=["imports"])
MAX_UPLOAD = 50 * 1024 * 1024
_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


def _job(state: ApiState, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job, if the caller started it (admins: any); otherwise not found."""
    return visible_import_job(uow_factory=state.app.uow_factory, principal=principal, job_id=job_id)


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (never a path the client sent), if it is a table."""
    name = Path(filename or "upload.csv").name
    if not name.lower().endswith(_SUFFIXES):
        raise ValidationError(
            "file", f"'{name}' is not a CSV or XLSX file ({', '.join(_SUFFIXES)})"
        )
    return name


def import_file(state: ApiState, principal: Principal, kind: str, path: Path,
                plan: ColumnMapping | None) -> dict[str, Any]:  # fmt: skip
    """Read the stored upload at ``path`` (with the mapping's read options) and import it,
    in this process (no worker processes inside a server); the summary."""
    options = plan.options if plan else {}
    table = read_tabular(path, encoding=options.get("encoding"), delimiter=options.get("delimiter"),
                         sheet=options.get("sheet"))  # fmt: skip
    summary = run_import(uow_factory=state.app.uow_factory, source=table, kind=kind, mapping=plan,
                         actor=principal.actor, clock=state.app.clock,
                         default_region=state.app.settings.default_region, workers=0)  # fmt: skip
    return summary.to_dict()


def error_report(state: ApiState, job: dict[str, Any]) -> bytes:
    """The job's rejected rows as formula-safe CSV (UTF-8 with BOM): row, column, value, reason."""
    rows = import_errors(uow_factory=state.app.uow_factory, job_id=job["id"])
    with tempfile.TemporaryDirectory(prefix="leadfunnel-report-") as folder:
        path = Path(folder) / "errors.csv"
        write_csv(path, ["row", "column", "value", "reason"],
                  ([e["row_number"], e["column_name"], e["value"], e["reason"]] for e in rows))  # fmt: skip
        return path.read_bytes()


def _run(state: ApiState, principal: Principal, kind: str, name: str, data: bytes,
         mapping: bytes | None) -> dict[str, Any]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="leadfunnel-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        plan = None
        if mapping is not None:
            (Path(folder) / "mapping.toml").write_bytes(mapping)
            plan = load_mapping(Path(folder) / "mapping.toml")
        return import_file(state, principal, kind, path, plan)


@router.post("/{kind}", status_code=201, summary="Upload a CSV/XLSX file and import it")
async def upload_route(
    request: Request,
    who: CallerDep,
    kind: str,
    file: Annotated[UploadFile, File(description="The CSV or XLSX file.")],
    mapping: Annotated[UploadFile | None, File(description="A TOML mapping file.")] = None,
) -> dict[str, Any]:
    require_importer(who.principal)
    if kind not in KINDS:
        raise ValidationError(
            "kind", f"unknown import kind '{kind}'; expected one of: {', '.join(KINDS)}"
        )
    name = upload_name(file.filename)
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
    require_importer(who.principal)
    return _job(state_of(request), who.principal, job_id)


@router.get("/{job_id}/errors", summary="The job's rejected rows as CSV (row, column, value, reason)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})  # fmt: skip
def errors_route(request: Request, who: CallerDep, job_id: str) -> Response:
    require_importer(who.principal)
    state = state_of(request)
    body = error_report(state, _job(state, who.principal, job_id))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{job_id}-errors.csv"'})  # fmt: skip
