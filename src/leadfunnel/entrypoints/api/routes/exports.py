"""Exports over HTTP: the caller's leads as CSV or XLSX, formula-safe (``adapters/files``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from leadfunnel.adapters.files.writers import write_csv, write_xlsx
from leadfunnel.domain.access import require_scope
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.exports import export_table

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])
_TYPES = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


@router.get("/leads", summary="The leads the caller may see, as CSV or XLSX",
            response_class=FileResponse, responses={200: {"content": {t: {} for t in _TYPES.values()}}})  # fmt: skip
def leads_route(
    request: Request,
    who: CallerDep,
    format: Annotated[str, Query(description="csv or xlsx")] = "csv",
    stage: Annotated[str | None, Query(max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> FileResponse:
    require_scope(who.principal, "leads:read")
    if format not in _TYPES:
        raise ValidationError("format", f"'{format}' is not one of: {', '.join(_TYPES)}")
    filters = {k: v for k, v in (("stage", stage), ("channel", channel), ("region", region),
                                 ("industry", industry), ("search", search)) if v is not None}  # fmt: skip
    table = export_table(uow_factory=state_of(request).app.uow_factory, dataset="leads", filters=filters,
                         principal=who.principal)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="leadfunnel-export-"))
    target = folder / f"leads.{format}"
    try:
        (write_csv if format == "csv" else write_xlsx)(target, table.columns, table.rows)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(target, media_type=_TYPES[format], filename=target.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))  # fmt: skip
