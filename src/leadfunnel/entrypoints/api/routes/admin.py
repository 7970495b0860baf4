"""Users, teams and API keys (admins; managers may read their team)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from leadfunnel.domain.access import require_role, require_scope
from leadfunnel.domain.errors import NotFound
from leadfunnel.entrypoints.api.schemas import ApiKeyBody, TeamBody, UserBody
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.api_keys import create_api_key, list_api_keys, revoke_api_key
from leadfunnel.services.auth import add_team, add_user, list_teams, list_users

__all__ = ["router"]

router = APIRouter(tags=["admin"])


@router.get("/users", summary="List users (admins: everyone; managers: their team)")
def users_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    require_role(who.principal, "admin", "manager", action="listing users")
    return {
        "items": list_users(uow_factory=state_of(request).app.uow_factory, principal=who.principal)
    }


@router.post("/users", status_code=201, summary="Create a user (admins)")
def add_user_route(request: Request, who: CallerDep, body: UserBody) -> dict[str, Any]:
    require_scope(who.principal, "admin")
    require_role(who.principal, "admin", action="creating users")
    state = state_of(request)
    return add_user(uow_factory=state.app.uow_factory, email=body.email, name=body.name,
                    role=body.role, password=body.password, team=body.team,
                    actor=who.principal.actor, now=state.now())  # fmt: skip


@router.get("/teams", summary="Sales teams")
def teams_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    require_role(who.principal, "admin", "manager", action="listing teams")
    return {"items": list_teams(uow_factory=state_of(request).app.uow_factory)}


@router.post("/teams", status_code=201, summary="Create a team (admins)")
def add_team_route(request: Request, who: CallerDep, body: TeamBody) -> dict[str, Any]:
    require_scope(who.principal, "admin")
    require_role(who.principal, "admin", action="creating teams")
    state = state_of(request)
    return add_team(uow_factory=state.app.uow_factory, name=body.name, region=body.region,
                    actor=who.principal.actor, now=state.now())  # fmt: skip


@router.get("/api-keys", summary="List API keys (admins); never shows a key")
def keys_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "admin")
    require_role(who.principal, "admin", action="listing API keys")
    return {"items": list_api_keys(uow_factory=state_of(request).app.uow_factory)}


@router.post("/api-keys", status_code=201, summary="Issue an API key (admins); shown once")
def add_key_route(request: Request, who: CallerDep, body: ApiKeyBody) -> dict[str, Any]:
    require_scope(who.principal, "admin")
    require_role(who.principal, "admin", action="issuing API keys")
    state = state_of(request)
    email = body.user_email or who.principal.name
    issued = create_api_key(uow_factory=state.app.uow_factory, name=body.name, user_email=email,
                            scopes=body.scopes, source=body.source, signed=body.signed,
                            rate_limit=body.rate_limit, actor=who.principal.actor,
                            now=state.now())  # fmt: skip
    return issued.to_dict()


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key (admins)")
def revoke_key_route(request: Request, who: CallerDep, key_id: str) -> Response:
    require_scope(who.principal, "admin")
    require_role(who.principal, "admin", action="revoking API keys")
    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise NotFound("api key", key_id) from None
    state = state_of(request)
    revoke_api_key(uow_factory=state.app.uow_factory, key_id=parsed, actor=who.principal.actor,
                   now=state.now())  # fmt: skip
    state.keys.clear()  # refused from the next request on, in this process
    return Response(status_code=204)
