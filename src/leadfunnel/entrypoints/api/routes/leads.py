"""Leads: create (through intake), list, read, update (ETag / If-Match), move, timeline,
activities. Access follows ``domain/access.py`` inside the services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from leadfunnel.domain.access import can_write_lead, require_role, require_scope
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.entrypoints.api.schemas import ActivityBody, LeadPatch, StageMove
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.intake import intake_lead
from leadfunnel.services.lead_input import parse_lead_input
from leadfunnel.services.leads import (
    LIST_SORTS,
    get_lead,
    list_leads,
    record_touchpoint,
    update_lead,
)
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.sla import log_activity

__all__ = ["router"]

router = APIRouter(prefix="/leads", tags=["leads"])


def _etag(lead: dict[str, Any]) -> str:
    return f'"v{lead["version"]}"'


def _version_from(if_match: str) -> int:
    tag = if_match.strip().removeprefix("W/")
    if tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit():
        return int(tag[2:-1])
    raise ApiProblem(
        412, f"If-Match {if_match!r} is not an ETag of this lead", code="precondition_failed"
    )


def _lead_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError("lead_id", f"'{value}' is not a UUID") from None


@router.get("", summary="List leads")
def list_route(
    request: Request,
    who: CallerDep,
    stage: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    industry: str | None = None,
    grade: str | None = None,
    owner_id: str | None = None,
    team_id: str | None = None,
    in_pool: bool | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[
        str, Query(description=f"One of {', '.join(LIST_SORTS)}; '-' first for descending.")
    ] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    filters = {"stage": stage, "channel": channel, "region": region, "industry": industry,
               "grade": grade, "owner_id": owner_id, "team_id": team_id, "in_pool": in_pool,
               "search": search}  # fmt: skip
    page = list_leads(uow_factory=state_of(request).app.uow_factory, principal=who.principal,
                      filters=filters, sort=sort, cursor=cursor, limit=limit)  # fmt: skip
    return {"items": page.items, "total": page.total, "limit": page.limit,
            "next_cursor": page.next_cursor}  # fmt: skip


@router.post("", status_code=201, summary="Create or merge a lead through intake")
def create_route(
    request: Request, who: CallerDep, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    require_scope(who.principal, "leads:write")
    require_role(who.principal, "admin", "manager", "rep", action="creating leads")
    state = state_of(request)
    now = state.now()
    draft = parse_lead_input(body, now=now, default_region=state.app.settings.default_region)
    principal = who.principal
    result = intake_lead(uow_factory=state.app.uow_factory, draft=draft, source="api",
                         actor=principal.actor, now=now,
                         may_merge=lambda lead: can_write_lead(principal, lead))  # fmt: skip
    data = result.to_dict()
    data.pop("replayed")
    return JSONResponse(data, status_code=201 if result.outcome == "created" else 200)


@router.get("/{lead_id}", summary="Read a lead")
def get_route(request: Request, who: CallerDep, lead_id: str) -> JSONResponse:
    require_scope(who.principal, "leads:read")
    view = get_lead(uow_factory=state_of(request).app.uow_factory, principal=who.principal,
                    lead_id=_lead_id(lead_id))  # fmt: skip
    return JSONResponse(jsonable_encoder(view.lead), headers={"ETag": _etag(view.lead)})


@router.patch("/{lead_id}", summary="Change profile fields (needs If-Match)")
def patch_route(
    request: Request,
    who: CallerDep,
    lead_id: str,
    body: LeadPatch,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    require_scope(who.principal, "leads:write")
    if if_match is None:
        raise ApiProblem(428, "send If-Match with the ETag from your last read of this lead",
                         code="precondition_required")  # fmt: skip
    state = state_of(request)
    lead = update_lead(uow_factory=state.app.uow_factory, principal=who.principal,
                       lead_id=_lead_id(lead_id), changes=body.model_dump(exclude_unset=True),
                       expected_version=_version_from(if_match), now=state.now())  # fmt: skip
    return JSONResponse(jsonable_encoder(lead), headers={"ETag": _etag(lead)})


@router.get("/{lead_id}/timeline", summary="A lead's unified timeline")
def timeline_route(request: Request, who: CallerDep, lead_id: str) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    view = get_lead(uow_factory=state_of(request).app.uow_factory, principal=who.principal,
                    lead_id=_lead_id(lead_id))  # fmt: skip
    return {"lead_id": str(view.lead["id"]), "items": view.timeline}


@router.post("/{lead_id}/stage", summary="Move a lead to another stage")
def move_route(request: Request, who: CallerDep, lead_id: str, body: StageMove) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    change = move_lead(uow_factory=state.app.uow_factory, lead_id=_lead_id(lead_id), to=body.to,
                       reason=body.reason, actor=who.principal.actor, now=state.now(),
                       principal=who.principal)  # fmt: skip
    return change.to_dict()


@router.post("/{lead_id}/activities", status_code=201, summary="Log a sales activity")
def activity_route(
    request: Request, who: CallerDep, lead_id: str, body: ActivityBody, response: Response
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    now = state.now()
    user_id = who.principal.user_id
    if body.user_id is not None:
        try:
            user_id = uuid.UUID(body.user_id)
        except ValueError:
            raise ValidationError("user_id", f"'{body.user_id}' is not a UUID") from None
    at = body.at or now
    if at.tzinfo is None:
        raise ValidationError("at", "give a time zone (e.g. 2026-11-22T10:00:00Z)")
    clock = log_activity(uow_factory=state.app.uow_factory, lead_id=_lead_id(lead_id),
                         user_id=user_id, kind=body.kind, at=at, subject=body.subject,
                         actor=who.principal.actor, now=now, principal=who.principal)  # fmt: skip
    return {"lead_id": lead_id, "kind": body.kind, "at": at, "sla": clock}


@router.post(
    "/{lead_id}/touchpoints", status_code=201, summary="Record a behaviour event on a lead"
)
def touchpoint_route(
    request: Request, who: CallerDep, lead_id: str, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    result = record_touchpoint(uow_factory=state.app.uow_factory, principal=who.principal,
                               lead_id=_lead_id(lead_id), touch=body, now=state.now(),
                               default_region=state.app.settings.default_region)  # fmt: skip
    return {"lead_id": str(result.lead_id), "touchpoint_id": str(result.touchpoint_id)}
