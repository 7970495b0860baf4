"""Signing in and out (session cookies) and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from leadfunnel.entrypoints.api.schemas import LoginBody
from leadfunnel.entrypoints.api.security import (
    SESSION_COOKIE,
    CallerDep,
    clear_session_cookies,
    set_session_cookies,
    state_of,
)
from leadfunnel.services.auth import end_session, login

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


def _principal_dict(principal: Any) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "name": principal.name,
        "role": principal.role,
        "team_id": principal.team_id,
        "scopes": sorted(principal.scopes),
        "api_key_id": principal.key_id,
    }


@router.post("/login", summary="Sign in; sets the session cookie")
def login_route(request: Request, body: LoginBody, response: Response) -> dict[str, Any]:
    state = state_of(request)
    tokens = login(uow_factory=state.app.uow_factory, email=body.email, password=body.password,
                   client=request.client.host if request.client else None, now=state.now(),
                   previous_session=request.cookies.get(SESSION_COOKIE), policy=state.policy)  # fmt: skip
    set_session_cookies(response, request, tokens, state.policy)
    return {"user": _principal_dict(tokens.principal), "csrf_token": tokens.csrf,
            "expires_at": tokens.expires_at}  # fmt: skip


@router.post("/logout", status_code=204, summary="Sign out; ends the session")
def logout_route(request: Request, who: CallerDep, response: Response) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(uow_factory=state_of(request).app.uow_factory, token=token)
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


@router.get("/me", summary="The signed-in user or the API key's user")
def me_route(who: CallerDep) -> dict[str, Any]:
    return _principal_dict(who.principal)
