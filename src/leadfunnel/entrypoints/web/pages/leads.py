"""The leads list and the lead 360 page, with its two forms (log an activity, move stage).

* **List** (``/leads``): the leads the viewer may see (``services/leads.py`` applies
  ``domain/access.py``), filtered and searched by URL parameters (so a view is a link), newest
  first by default, 50 a page, with a cursor to the next page.
* **Lead 360** (``/leads/{id}``): profile, score and grade with the active models'
  explanation, owner, first-response SLA clock, and the unified timeline (stage changes,
  touchpoints, activities, owner changes with their reasons), newest first.
* The forms post back here (no script needed). A refused move or activity (an illegal
  transition, a missing reason, a role that may not change the lead) is shown next to the
  form that asked, with the status the API would answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.domain.access import can_write_lead
from leadfunnel.domain.errors import DomainError, NotFound
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import Viewer, ViewerDep, check_csrf
from leadfunnel.services.leads import LIST_SORTS, get_lead, list_leads
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.routing import sla_clock
from leadfunnel.services.scoring import explain_lead
from leadfunnel.services.sla import RESPONSE_KINDS, log_activity

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
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
    return render(request, "leads.html", {
        "leads": page.items, "total": page.total, "next_url": next_url, "first_url": f"/leads?{urlencode(kept)}",
        "paged": bool(cursor), "filters": {k: given[k] or "" for k in _FILTERS},
        "stages": [s.value for s in Stage], "sorts": _sorts(),
        "names": people_names(uow_factory=state.app.uow_factory, principal=who.principal),
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
        "due_in": _due_in(lead["sla_due_at"], now),
        "names": people_names(uow_factory=uow_factory, principal=who.principal),
        "writable": can_write_lead(who.principal, lead),
        "stages": [s.value for s in Stage if s is not current],
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
