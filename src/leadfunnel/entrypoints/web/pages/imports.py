"""Import (``/imports``): upload a CSV/XLSX file, map its columns, run it, read the report.

* ``/imports``: choose what the file holds (leads, stage history, ...) and the file; below,
  the recent import jobs with their status and counts.
* Uploading checks the file whole, as ``leadfunnel import`` does (type, size, encoding,
  header), keeps it on the server (``web/uploads.py``) and opens ``/imports/uploads/{token}``:
  the file's header and first rows, and for each field of the kind a choice of column
  (pre-filled by the importer's own matching of column names), a constant and, for dates, a
  format. Confirming builds the mapping document a ``--mapping`` TOML file would hold,
  validates it the same way, and runs the import as the API does: in the request, batch by
  batch. A refused mapping (a required field left unmapped, an unknown column) is shown with
  the choices kept, and nothing is written.
* ``/imports/{job_id}``: the job's status and counts (refreshed while it runs) and its first
  :data:`SHOWN_ERRORS` rejected rows; ``/imports/{job_id}/errors.csv`` is the whole report,
  formula-safe, the very file the API serves.

The policy is the API's (``services/imports/jobs.py``): admins, managers and marketers import;
each reads the jobs they started, admins every job.
"""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from leadfunnel.adapters.files.tabular import TabularFile, read_tabular
from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.routes.imports import (
    MAX_UPLOAD,
    error_report,
    import_file,
    upload_name,
)
from leadfunnel.entrypoints.api.security import ApiState, state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import Viewer, ViewerDep, check_csrf
from leadfunnel.entrypoints.web.uploads import StoredUpload, default_store
from leadfunnel.services.imports.jobs import (
    recent_import_jobs,
    require_importer,
    visible_import_job,
)
from leadfunnel.services.imports.mapping import OPTION_CHOICES, auto_mapping, parse_mapping
from leadfunnel.services.imports.runner import KINDS, import_errors

__all__ = ["DATE_FIELDS", "DELIMITERS", "SAMPLE_ROWS", "SHOWN_ERRORS", "STORE", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STORE = default_store()
SAMPLE_ROWS = 5
SHOWN_ERRORS = 100
#: Fields holding a date or time: the mapper offers a strptime format for them.
DATE_FIELDS = frozenset({"occurred_at", "at", "created_at", "closed_at", "expected_close", "day"})
#: Delimiters one can choose, by the name the form sends (a tab cannot be typed into a text
#: box); "" sniffs the file.
DELIMITERS = {"": "", "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
#: Where columns kept as they are go, for the kinds that have such a JSON field.
_EXTRA_PREFIX = {"leads": "custom_fields.", "touchpoints": "properties."}
#: Fields a column cannot map to directly (the JSON field itself; see ``_EXTRA_PREFIX``).
_NOT_MAPPED = frozenset({"custom_fields"})


def _delimiter_name(delimiter: str | None) -> str | None:
    return next((name for name, d in DELIMITERS.items() if d and d == delimiter), delimiter)


def _targets(kind: str) -> list[str]:
    return [f for f in KINDS[kind].fields if f not in _NOT_MAPPED]


def _required(kind: str) -> set[str]:
    """Fields that are required on their own (a group such as email-or-phone is explained
    on the page instead)."""
    return {group[0] for group in KINDS[kind].required if len(group) == 1}


def _overview(request: Request, who: Viewer, *, error: str | None = None, status: int = 200,
              chosen: str = "leads") -> Response:  # fmt: skip
    state = state_of(request)
    jobs = recent_import_jobs(uow_factory=state.app.uow_factory, principal=who.principal)
    names = people_names(uow_factory=state.app.uow_factory, principal=who.principal)
    by = {f"user:{user_id}": name for user_id, name in names.items()}
    return render(request, "imports.html", {
        "kinds": list(KINDS), "chosen": chosen, "jobs": jobs, "by": by, "error": error,
        "delimiters": DELIMITERS, "max_mib": MAX_UPLOAD // 1024 // 1024,
    }, viewer=who, status=status)  # fmt: skip


@router.get("/imports")
def imports_page(request: Request, who: ViewerDep) -> Response:
    require_importer(who.principal)
    return _overview(request, who)


def _check_upload(upload: StoredUpload) -> TabularFile:
    """The stored file read whole, as the import will read it (raises naming the problem)."""
    return read_tabular(upload.path, encoding=upload.read.get("encoding"),
                        delimiter=upload.read.get("delimiter"), sheet=upload.read.get("sheet"))  # fmt: skip


def _reading(kind: str, encoding: str, delimiter: str, sheet: str) -> dict[str, str]:
    """How to read the file (the read options of a mapping), once the choices are checked."""
    if kind not in KINDS:
        raise ValidationError(
            "kind", f"unknown import kind '{kind}'; expected one of: {', '.join(KINDS)}"
        )
    if delimiter not in DELIMITERS:
        raise ValidationError("delimiter", f"'{delimiter}' is not one of: {', '.join(DELIMITERS)}")
    chosen = (("encoding", encoding.strip()), ("delimiter", DELIMITERS[delimiter]),
              ("sheet", sheet.strip()))  # fmt: skip
    return {key: value for key, value in chosen if value}


@router.post("/imports")
async def upload_form(
    request: Request,
    who: ViewerDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=40)] = "leads",
    encoding: Annotated[str, Form(max_length=40)] = "",
    delimiter: Annotated[str, Form(max_length=10)] = "",
    sheet: Annotated[str, Form(max_length=100)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf)
    require_importer(who.principal)
    try:
        read = _reading(kind, encoding, delimiter, sheet)
        name = upload_name(file.filename)
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            too_large = f"an upload is at most {MAX_UPLOAD // 1024 // 1024} MiB"
            return _overview(request, who, error=too_large, status=413, chosen=kind)
        STORE.prune(state_of(request).now())
        upload = STORE.save(actor=who.principal.actor, kind=kind, name=name, data=data, read=read)
        try:
            await run_in_threadpool(_check_upload, upload)
        except DomainError:
            STORE.discard(upload.token)  # a file that cannot be imported is not kept
            raise
    except DomainError as exc:
        return _overview(request, who, error=exc.message, status=status_for(exc), chosen=kind)
    return RedirectResponse(f"/imports/uploads/{upload.token}", status_code=303)


def _choices(kind: str, table: TabularFile, form: FormData | None) -> dict[str, Any]:
    """What the mapper shows selected: the submitted form, else the importer's own matching
    of column names to fields."""
    if form is None:
        matched, _ = auto_mapping(_targets(kind), table.columns, kind=kind)
        return {"columns": dict(matched.columns), "constants": {}, "formats": {}, "extra": [],
                "default_region": "", "create_missing_owners": False, "backdated_history": ""}  # fmt: skip
    targets = _targets(kind)
    return {
        "columns": {f: str(form.get(f"column.{f}") or "") for f in targets},
        "constants": {f: str(form.get(f"constant.{f}") or "").strip() for f in targets},
        "formats": {f: str(form.get(f"format.{f}") or "").strip() for f in targets},
        "extra": [str(c) for c in form.getlist("extra")],
        "default_region": str(form.get("default_region") or "").strip(),
        "create_missing_owners": bool(form.get("create_missing_owners")),
        "backdated_history": str(form.get("backdated_history") or ""),
    }


def mapping_document(kind: str, upload: StoredUpload, choices: dict[str, Any]) -> dict[str, Any]:
    """The mapping document (as a ``--mapping`` TOML file holds it) the person chose.

    >>> up = StoredUpload("0" * 32, "leads", "a.csv", None, {"encoding": "gbk"})
    >>> mapping_document("leads", up, {"columns": {"email": "E-mail", "phone": ""},
    ...     "constants": {"channel": "trade_show"}, "formats": {}, "extra": ["booth"],
    ...     "default_region": "", "create_missing_owners": False, "backdated_history": ""})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'kind': 'leads', 'options': {'encoding': 'gbk'}, 'columns': {'email': 'E-mail',
     'custom_fields.booth': 'booth'}, 'constants': {'channel': 'trade_show'}, 'formats': {}}
    """
    options: dict[str, Any] = dict(upload.read)
    if choices["default_region"]:
        options["default_region"] = choices["default_region"]
    if choices["create_missing_owners"]:
        options["create_missing_owners"] = True
    if choices["backdated_history"]:
        options["backdated_history"] = choices["backdated_history"]
    columns = {f: c for f, c in choices["columns"].items() if c}
    prefix = _EXTRA_PREFIX.get(kind)
    if prefix:
        columns.update({f"{prefix}{c}": c for c in choices["extra"]})
    return {"kind": kind, "options": options, "columns": columns,
            "constants": {f: v for f, v in choices["constants"].items() if v},
            "formats": {f: v for f, v in choices["formats"].items() if v}}  # fmt: skip


def _mapper(request: Request, who: Viewer, upload: StoredUpload, table: TabularFile, *,
            form: FormData | None = None, error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    kind = upload.kind
    return render(request, "import_map.html", {
        "upload": upload, "kind": kind, "columns": table.columns, "total_rows": table.total_rows,
        "samples": [row for _, row in islice(table.rows(), SAMPLE_ROWS)],
        "encoding": table.encoding, "delimiter": _delimiter_name(table.delimiter),
        "targets": _targets(kind), "required": _required(kind), "dates": DATE_FIELDS,
        "choices": _choices(kind, table, form), "extra_prefix": _EXTRA_PREFIX.get(kind),
        "owners": any(f in ("owner", "user") for f in KINDS[kind].fields),
        "backdated": OPTION_CHOICES["backdated_history"] if kind == "stage-history" else (),
        "error": error,
    }, viewer=who, status=status)  # fmt: skip


@router.get("/imports/uploads/{token}")
def mapper_page(request: Request, who: ViewerDep, token: str) -> Response:
    require_importer(who.principal)
    upload = STORE.open(actor=who.principal.actor, token=token)
    return _mapper(request, who, upload, _check_upload(upload))


def _run(
    state: ApiState, who: Viewer, upload: StoredUpload, form: FormData
) -> tuple[TabularFile, str | ValidationError]:
    """Run the import the form describes: the file, and the job id or why it was refused
    (before anything was written)."""
    table = _check_upload(upload)
    document = mapping_document(upload.kind, upload, _choices(upload.kind, table, form))
    try:
        plan = parse_mapping(document)
        summary = import_file(state, who.principal, upload.kind, upload.path, plan)
    except ValidationError as exc:
        return table, exc
    return table, str(summary["job_id"])


@router.post("/imports/uploads/{token}")
async def run_form(request: Request, who: ViewerDep, token: str) -> Response:
    form = await request.form(max_files=0, max_fields=2000)
    check_csrf(who, str(form.get("csrf") or ""))
    require_importer(who.principal)
    upload = STORE.open(actor=who.principal.actor, token=token)
    table, outcome = await run_in_threadpool(_run, state_of(request), who, upload, form)
    if isinstance(outcome, ValidationError):
        return _mapper(request, who, upload, table, form=form, error=outcome.message,
                       status=status_for(outcome))  # fmt: skip
    STORE.discard(upload.token)
    return RedirectResponse(f"/imports/{outcome}", status_code=303)


@router.get("/imports/{job_id}")
def job_page(request: Request, who: ViewerDep, job_id: str) -> Response:
    require_importer(who.principal)
    state = state_of(request)
    job = visible_import_job(
        uow_factory=state.app.uow_factory, principal=who.principal, job_id=job_id
    )
    errors = import_errors(uow_factory=state.app.uow_factory, job_id=job["id"])
    return render(request, "import_job.html", {
        "job": job, "errors": errors[:SHOWN_ERRORS], "error_count": len(errors),
        "shown_errors": SHOWN_ERRORS,
    }, viewer=who)  # fmt: skip


@router.get("/imports/{job_id}/errors.csv")
def errors_csv(request: Request, who: ViewerDep, job_id: str) -> Response:
    require_importer(who.principal)
    state = state_of(request)
    job = visible_import_job(
        uow_factory=state.app.uow_factory, principal=who.principal, job_id=job_id
    )
    return Response(error_report(state, job), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{job["id"]}-errors.csv"',
        "Cache-Control": "no-store",
    })  # fmt: skip
