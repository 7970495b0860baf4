"""Signing in and out in the browser, and the front door (``/`` sends a person to their
role's first page).

Signing in sets the same two cookies as ``POST /api/v1/auth/login``: the ``HttpOnly``
session cookie and the readable ``lf_csrf`` cookie that forms and scripts echo on writes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.domain.errors import DomainError
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.security import (
    SESSION_COOKIE,
    clear_session_cookies,
    set_session_cookies,
    state_of,
)
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.navigation import home_for
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import ViewerDep, check_csrf, safe_next
from leadfunnel.services.auth import end_session, login

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def home_page(who: ViewerDep) -> Response:
    return RedirectResponse(home_for(who.principal.role), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""},
                  viewer=None)  # fmt: skip


@router.post("/login")
def login_form(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    state = state_of(request)
    try:
        tokens = login(uow_factory=state.app.uow_factory, email=email, password=password,
                       client=request.client.host if request.client else None, now=state.now(),
                       previous_session=request.cookies.get(SESSION_COOKIE), policy=state.policy)  # fmt: skip
    except DomainError as exc:
        return render(request, "login.html", {"next": safe_next(next), "error": exc.message,
                      "email": email}, viewer=None, status=status_for(exc))  # fmt: skip
    target = safe_next(next)
    response = RedirectResponse(
        home_for(tokens.principal.role) if target == "/" else target, status_code=303
    )
    set_session_cookies(response, request, tokens, state.policy)
    return response


@router.post("/logout")
def logout_form(
    request: Request, who: ViewerDep, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    check_csrf(who, csrf)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(uow_factory=state_of(request).app.uow_factory, token=token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response
