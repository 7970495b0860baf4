"""The leads list and the lead 360 page, with its two forms (log an activity, move stage).

* **List** (``/leads``): the leads the viewer may see (``services/leads.py`` applies
  ``domain/access.py``), filtered and searched by URL parameters (so a view is a link), newest
  first by default, 50 a page, with a cursor to the next page.
* **Lead 360** (``/leads/{id}``): profile, score and grade with the active models'
  explanation, owner, first-response SLA clock, and the unified timeline (stage changes,
  touchpoints, activities, owner changes with their reasons), newest first.
* **Saved views**: the list's filters and sort saved under a name, per person, listed above
  the filters; one click opens the list with them (``services/saved_views.py``).
* **Bulk actions** on the list: tick leads (or all on the page) and assign them to a rep,
  move their stage, or export them as CSV (``services/bulk.py``); a page then lists what
  was done and each refused lead with the reason.
* The forms post back here (no script needed). A refused move or activity (an illegal
  transition, a missing reason, a role that may not change the lead) is shown next to the
  form that asked, with the status the API would answer.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask

from leadfunnel.adapters.files.writers import write_csv
from leadfunnel.domain.access import can_write_lead
from leadfunnel.domain.errors import DomainError, NotFound, ValidationError
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import Viewer, ViewerDep, check_csrf, safe_next
from leadfunnel.services.auth import list_users
from leadfunnel.services.bulk import BULK_ACTIONS, assign_leads, export_leads, move_leads
from leadfunnel.services.leads import LIST_SORTS, get_lead, list_leads
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.opportunities import list_opportunities
from leadfunnel.services.ports import Row
from leadfunnel.services.routing import sla_clock
from leadfunnel.services.saved_views import delete_view, list_views, save_view
from leadfunnel.services.scoring import explain_lead
from leadfunnel.services.sla import RESPONSE_KINDS, log_activity

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
#: Deals listed on a lead page, newest first (the pipeline has them all).
DEALS_SHOWN = 20
ACTIVITY_KINDS = (*RESPONSE_KINDS, "note", "task")
_FILTERS = ("search", "stage", "channel", "region", "industry", "grade", "pool", "sort")
Text = Annotated[str | None, Query(max_length=200)]


def _lead_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("lead", value) from None


def _sorts() -> list[str]:
    return [f"{direction}{column}" for column in LIST_SORTS for direction in ("-", "")]


@router.get("/leads")
def leads_page(
    request: Request,
    who: ViewerDep,
    search: Text = None,
    stage: Text = None,
    channel: Text = None,
    region: Text = None,
    industry: Text = None,
    grade: Text = None,
    pool: Annotated[str | None, Query(pattern="^(|pool|owned)$")] = None,
    sort: Annotated[str, Query(max_length=40)] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """``pool`` is ``pool`` (only the shared pool) or ``owned`` (only owned leads)."""
    shown = {"search": search, "stage": stage, "channel": channel, "region": region,
             "industry": industry, "grade": grade, "pool": pool, "sort": sort}  # fmt: skip
    given = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in shown.items()}
    filters: dict[str, str | bool | None] = {
        k: given[k] for k in ("search", "stage", "channel", "region", "industry", "grade")
    }
    filters["in_pool"] = {"pool": True, "owned": False}.get(given["pool"] or "")
    state = state_of(request)
    page = list_leads(uow_factory=state.app.uow_factory, principal=who.principal, filters=filters,
                      sort=given["sort"] or "-created_at", cursor=cursor or None, limit=PAGE_SIZE)  # fmt: skip
    kept = [(k, v) for k, v in given.items() if v]
    next_url = (
        f"/leads?{urlencode([*kept, ('cursor', page.next_cursor)])}" if page.next_cursor else None
    )
    here = f"/leads?{urlencode([*kept, *([('cursor', cursor)] if cursor else [])])}"
    return render(request, "leads.html", {
        "leads": page.items, "total": page.total, "next_url": next_url, "first_url": f"/leads?{urlencode(kept)}",
        "paged": bool(cursor), "filters": {k: given[k] or "" for k in _FILTERS},
        "stages": [s.value for s in Stage], "sorts": _sorts(),
        "names": people_names(uow_factory=state.app.uow_factory, principal=who.principal),
        "reps": _assignable_reps(state, who), "here": here, "query": urlencode(kept),
        "views": list_views(uow_factory=state.app.uow_factory, principal=who.principal, page="leads"),
        "may_change": who.principal.role in ("admin", "manager", "rep"),
    }, viewer=who)  # fmt: skip


@router.post("/leads/views")
def save_view_form(
    request: Request,
    who: ViewerDep,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Save the list's current filters under a name (``services/saved_views.py``)."""
    check_csrf(who, csrf)
    state = state_of(request)
    view = save_view(uow_factory=state.app.uow_factory, principal=who.principal, page="leads",
                     name=name, query=query, now=state.now())  # fmt: skip
    return RedirectResponse(f"/leads?{view.query}", status_code=303)


@router.post("/leads/views/{view_id}/delete")
def delete_view_form(
    request: Request, who: ViewerDep, view_id: str, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    check_csrf(who, csrf)
    try:
        key = uuid.UUID(view_id)
    except ValueError:
        raise NotFound("saved view", view_id) from None
    delete_view(uow_factory=state_of(request).app.uow_factory, principal=who.principal, view_id=key)
    return RedirectResponse("/leads", status_code=303)


def _assignable_reps(state: Any, who: Viewer) -> list[Row]:
    """The active reps the viewer may give leads to: every rep for an admin, the team's for a
    manager, none for anyone else."""
    if who.principal.role not in ("admin", "manager"):
        return []
    users = list_users(uow_factory=state.app.uow_factory, principal=who.principal)
    return sorted((u for u in users if u["role"] == "rep" and u["active"]), key=lambda u: u["name"])


@router.post("/leads/bulk")
def bulk_form(
    request: Request,
    who: ViewerDep,
    action: Annotated[str, Form(max_length=16)],
    ids: Annotated[list[str] | None, Form()] = None,
    rep: Annotated[str, Form(max_length=64)] = "",
    to: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/leads",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Assign, move or export the checked leads (``services/bulk.py``); a page that says what
    was done and what was refused, and why."""
    check_csrf(who, csrf)
    if action not in BULK_ACTIONS:
        raise ValidationError("action", f"'{action}' is not one of: {', '.join(BULK_ACTIONS)}")
    chosen = [_lead_id(i) for i in ids or []]
    state = state_of(request)
    uow_factory, now = state.app.uow_factory, state.now()
    if action == "export":
        table = export_leads(uow_factory=uow_factory, principal=who.principal, lead_ids=chosen)
        folder = Path(tempfile.mkdtemp(prefix="leadfunnel-bulk-"))
        target = folder / "leads.csv"
        write_csv(target, table.columns, table.rows)
        return FileResponse(target, media_type="text/csv; charset=utf-8", filename="leads.csv",
                            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))  # fmt: skip
    if action == "assign":
        try:
            rep_id = uuid.UUID(rep)
        except ValueError:
            raise ValidationError("rep", "choose the rep to give the leads to") from None
        result = assign_leads(uow_factory=uow_factory, principal=who.principal, lead_ids=chosen,
                              rep_id=rep_id, now=now)  # fmt: skip
    else:
        result = move_leads(uow_factory=uow_factory, principal=who.principal, lead_ids=chosen, to=to,
                            reason=reason.strip() or None, now=now)  # fmt: skip
    return render(request, "bulk_result.html", {
        "result": result, "back": safe_next(back) if back.startswith("/leads") else "/leads",
        "to": to, "rep": rep,
    }, viewer=who)  # fmt: skip


def _due_in(due: datetime | None, now: datetime) -> int | None:
    """Whole minutes until ``due`` (negative when past)."""
    return None if due is None else int((due - now).total_seconds() // 60)


def _lead_response(
    request: Request,
    who: Viewer,
    lead_id: uuid.UUID,
    *,
    status: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    state = state_of(request)
    uow_factory, now = state.app.uow_factory, state.now()
    view = get_lead(uow_factory=uow_factory, principal=who.principal, lead_id=lead_id)
    lead = view.lead
    current = Stage(lead["stage"])
    return render(request, "lead.html", {
        "lead": lead, "timeline": list(reversed(view.timeline)),
        "scores": explain_lead(uow_factory=uow_factory, lead_id=lead_id, now=now),
        "clock": sla_clock(uow_factory=uow_factory, lead_id=lead_id),
        "due_in": _due_in(lead["sla_due_at"], now), "now": now,
        "names": people_names(uow_factory=uow_factory, principal=who.principal),
        "writable": can_write_lead(who.principal, lead),
        "deals": list_opportunities(uow_factory=uow_factory, principal=who.principal, lead_id=lead_id,
                                    limit=DEALS_SHOWN),
        # The Move-stage list offers only the moves the lifecycle allows from here.
        "allowed": [s.value for s in DEFAULT_LIFECYCLE.allowed_from(current)],
        "activity_kinds": ACTIVITY_KINDS, "notice": notice, "errors": errors or {}, "form": form or {},
    }, viewer=who, status=status)  # fmt: skip


@router.get("/leads/{lead_id}")
def lead_page(
    request: Request,
    who: ViewerDep,
    lead_id: str,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    notices = {"activity": "Activity logged.", "stage": "Stage changed."}
    return _lead_response(request, who, _lead_id(lead_id), notice=notices.get(done or ""))


@router.post("/leads/{lead_id}/activities")
def activity_form(
    request: Request,
    who: ViewerDep,
    lead_id: str,
    kind: Annotated[str, Form(max_length=16)],
    subject: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf)
    key = _lead_id(lead_id)
    state = state_of(request)
    now = state.now()
    try:
        log_activity(uow_factory=state.app.uow_factory, lead_id=key, user_id=who.principal.user_id,
                     kind=kind, at=now, subject=subject.strip() or None, actor=who.principal.actor,
                     now=now, principal=who.principal)  # fmt: skip
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _lead_response(request, who, key, status=status_for(exc), errors={"activity": exc.message},
                              form={"kind": kind, "subject": subject})  # fmt: skip
    return RedirectResponse(f"/leads/{key}?done=activity#timeline", status_code=303)


@router.post("/leads/{lead_id}/stage")
def stage_form(
    request: Request,
    who: ViewerDep,
    lead_id: str,
    to: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf)
    key = _lead_id(lead_id)
    state = state_of(request)
    try:
        move_lead(uow_factory=state.app.uow_factory, lead_id=key, to=to, reason=reason or None,
                  actor=who.principal.actor, now=state.now(), principal=who.principal)  # fmt: skip
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _lead_response(request, who, key, status=status_for(exc), errors={"stage": exc.message},
                              form={"to": to, "reason": reason})  # fmt: skip
    return RedirectResponse(f"/leads/{key}?done=stage", status_code=303)
