"""The shared pool over HTTP: reps claim and release, managers and admins assign."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from leadfunnel.domain.access import Forbidden, require_role, require_scope, visible_lead
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.routes.leads import _lead_id
from leadfunnel.entrypoints.api.schemas import AssignBody, ReleaseBody
from leadfunnel.entrypoints.api.security import ApiState, CallerDep, state_of
from leadfunnel.services.pool import claim_lead, pool_page, push_lead, release_lead

__all__ = ["router"]

router = APIRouter(tags=["pool"])


def _seen(state: ApiState, who: CallerDep, lead_id: uuid.UUID) -> dict[str, Any]:
    with state.app.uow_factory(write=False) as uow:
        return dict(visible_lead(who.principal, uow.leads.get(lead_id), lead_id))


@router.get("/pool", summary="Open leads in the shared pool, oldest first, paged")
def pool_route(
    request: Request,
    who: CallerDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    require_role(who.principal, "admin", "manager", "rep", action="reading the pool")
    page = pool_page(uow_factory=state_of(request).app.uow_factory, cursor=cursor, limit=limit)
    return {"items": page.items, "total": page.total, "limit": limit,
            "next_cursor": page.next_cursor}  # fmt: skip


@router.post(
    "/leads/{lead_id}/claim", summary="A rep takes a pool lead (within their daily claim limit)"
)
def claim_route(request: Request, who: CallerDep, lead_id: str) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    require_role(who.principal, "rep", action="claiming pool leads")
    state = state_of(request)
    key = _lead_id(lead_id)
    lead = _seen(state, who, key)
    if not lead["in_pool"]:
        raise ValidationError("lead_id", "the lead is not in the shared pool")
    assert who.principal.user_id is not None
    claim_lead(uow_factory=state.app.uow_factory, lead_id=key, rep_id=who.principal.user_id,
               now=state.now(), actor=who.principal.actor)  # fmt: skip
    return {"lead_id": lead_id, "owner_id": who.principal.user_id}


@router.post(
    "/leads/{lead_id}/assign", summary="Give a pool lead to a rep (managers: a rep of their team)"
)
def assign_route(
    request: Request, who: CallerDep, lead_id: str, body: AssignBody
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    require_role(who.principal, "admin", "manager", action="assigning pool leads")
    state = state_of(request)
    key = _lead_id(lead_id)
    try:
        rep_id = uuid.UUID(body.rep_id)
    except ValueError:
        raise ValidationError("rep_id", f"'{body.rep_id}' is not a UUID") from None
    if who.principal.role == "manager" and rep_id not in who.principal.team_members:
        raise Forbidden("a manager assigns leads only to reps of their own team")
    lead = _seen(state, who, key)
    if not lead["in_pool"]:
        raise ValidationError("lead_id", "the lead is not in the shared pool")
    push_lead(uow_factory=state.app.uow_factory, lead_id=key, rep_id=rep_id, now=state.now(),
              actor=who.principal.actor)  # fmt: skip
    return {"lead_id": lead_id, "owner_id": rep_id}


@router.post(
    "/leads/{lead_id}/release", summary="The owner gives a lead back to the pool, saying why"
)
def release_route(
    request: Request, who: CallerDep, lead_id: str, body: ReleaseBody
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    require_role(who.principal, "rep", action="releasing leads")
    state = state_of(request)
    key = _lead_id(lead_id)
    lead = _seen(state, who, key)
    if lead["owner_id"] != who.principal.user_id:
        raise Forbidden("only the lead's owner can release it")
    assert who.principal.user_id is not None
    release_lead(uow_factory=state.app.uow_factory, lead_id=key, rep_id=who.principal.user_id,
                 reason=body.reason, now=state.now(), actor=who.principal.actor)  # fmt: skip
    return {"lead_id": lead_id, "owner_id": None, "in_pool": True}
