"""Refusals as pages, in one place: what the API answers as problem+json, a page shows.

Every page route is a :class:`PageRoute`: no session sends the reader to sign in (and back
afterwards); a domain error becomes an error page with the status the API would use; a bad
query parameter is a 422 page. Forms that show a refusal inline (a refused stage move) catch
the error themselves and use ``api.problems.status_for`` for the status.

An input error names the field in words ("Window", not ``window``) and, on a page asked
with GET (the dashboard, the explorer), links back to the same page with every other choice
kept and only the offending parameter dropped, so a typo costs one field, not the whole
form. Example: ``/explorer?by=channel&top=5&window=30+days`` says "Window — window: '30 days'
is not a window such as 90d, 36h or 2w" and links to ``/explorer?by=channel&top=5``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from leadfunnel.domain.errors import (
    DomainError,
    ValidationError,
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


#: Query parameters of the pages' forms, by the label their form shows.
FIELDS = {
    "steps": "Steps", "mode": "Mode", "window": "Window", "by": "Breakdown", "attribution": "Touch",
    "cohort": "Cohort", "top": "Top", "from": "From", "to": "To", "where": "Filters",
    "where_dimension": "Dimension", "where_value": "Value", "sort": "Sort", "stage": "Stage",
    "search": "Search", "step": "Step", "value": "Value",
}  # fmt: skip


def _maybe_viewer(request: Request) -> Viewer | None:
    try:
        return viewer(request)
    except SignInRequired:
        return None


def _back_url(request: Request, field: str | None) -> str | None:
    """The page asked again without parameter ``field`` (``from`` for a period whose start is
    after its end); None unless the page was asked with GET and has that parameter."""
    if request.method != "GET" or field is None:
        return None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != field]
    if len(kept) == len(request.query_params.multi_items()):
        return None
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def _error_page(
    request: Request, status: int, detail: str, *, field: str | None = None
) -> Response:
    title = _TITLES.get(status, "Something went wrong")
    label = FIELDS.get(field or "")
    return render(request, "error.html", {
        "title": title, "detail": detail, "status": status, "field": field, "label": label,
        "back_url": _back_url(request, field),
    }, viewer=_maybe_viewer(request), status=status)  # fmt: skip


class PageRoute(APIRoute):
    """A route whose refusals are pages (or a redirect to sign in), not problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return RedirectResponse(exc.location, status_code=303)
            except ValidationError as exc:
                return _error_page(request, status_for(exc), exc.message, field=exc.field)
            except DomainError as exc:
                return _error_page(request, status_for(exc), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                loc = [str(p) for p in first.get("loc", ())[1:]]
                where = ".".join(loc) or "request"
                return _error_page(request, 422, f"{where}: {first.get('msg', 'is not valid')}",
                                   field=loc[0] if len(loc) == 1 else None)  # fmt: skip

        return page
