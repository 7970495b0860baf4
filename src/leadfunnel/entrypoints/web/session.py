"""Who is looking at a page: the person behind the session cookie the API's sign-in sets.

Pages accept only the session cookie (never an API key: a browser does not send one). A
form that changes something carries the session's CSRF token (the ``lf_csrf`` cookie's
value, echoed in a hidden ``csrf`` field), checked like the API checks ``X-CSRF-Token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from leadfunnel.domain.access import Forbidden, Principal
from leadfunnel.entrypoints.api.security import CSRF_COOKIE, SESSION_COOKIE, state_of
from leadfunnel.services.auth import ActiveSession, NotAuthenticated, resolve_session

__all__ = ["SignInRequired", "Viewer", "ViewerDep", "check_csrf", "safe_next", "viewer"]


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to

    @property
    def location(self) -> str:
        return f"/login?next={quote(self.back_to, safe='/')}"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: ActiveSession
    #: The CSRF token to echo in forms (the readable cookie login set).
    csrf: str


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def viewer(request: Request) -> Viewer:
    """The signed-in person, or :class:`SignInRequired`."""
    token = request.cookies.get(SESSION_COOKIE)
    back_to = _here(request) if request.method == "GET" else "/"
    if not token:
        raise SignInRequired(back_to)
    state = state_of(request)
    try:
        session = resolve_session(uow_factory=state.app.uow_factory, token=token,
                                  now=state.now(), policy=state.policy)  # fmt: skip
    except NotAuthenticated:
        raise SignInRequired(back_to) from None
    return Viewer(principal=session.principal, session=session,
                  csrf=request.cookies.get(CSRF_COOKIE, ""))  # fmt: skip


def check_csrf(who: Viewer, token: str | None) -> None:
    """Refuse a form post that does not carry this session's CSRF token."""
    if not who.session.csrf_matches(token):
        raise Forbidden("this form has expired or did not come from this site; reload the page")


ViewerDep = Annotated[Viewer, Depends(viewer)]
