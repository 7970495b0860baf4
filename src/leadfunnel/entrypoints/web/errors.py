"""Refusals as pages, in one place: what the API answers as problem+json, a page shows.

Every page route is a :class:`PageRoute`: no session sends the reader to sign in (and back
afterwards); a domain error becomes an error page with the status the API would use; a bad
query parameter is a 422 page. Forms that show a refusal inline (a refused stage move) catch
the error themselves and use ``api.problems.status_for`` for the status.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from leadfunnel.domain.errors import (
    DomainError,
)
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import SignInRequired, Viewer, viewer

__all__ = ["PageRoute"]

_TITLES = {
    403: "Not available to your role",
    404: "Not found",
    409: "Not allowed",
    412: "Changed meanwhile",
    422: "Please check your input",
}


def _maybe_viewer(request: Request) -> Viewer | None:
    try:
        return viewer(request)
    except SignInRequired:
        return None


def _error_page(request: Request, status: int, detail: str) -> Response:
    title = _TITLES.get(status, "Something went wrong")
    return render(request, "error.html", {"title": title, "detail": detail, "status": status},
                  viewer=_maybe_viewer(request), status=status)  # fmt: skip


class PageRoute(APIRoute):
    """A route whose refusals are pages (or a redirect to sign in), not problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return RedirectResponse(exc.location, status_code=303)
            except DomainError as exc:
                return _error_page(request, status_for(exc), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                return _error_page(request, 422, f"{where}: {first.get('msg', 'is not valid')}")

        return page
