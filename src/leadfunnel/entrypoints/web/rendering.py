"""Turning a template and its values into a page, in the reader's language.

Every template gets, besides its own values: ``_`` (translate a label), ``fmt`` (the
language's number, percent, money and time formats), ``viewer`` (or None on the sign-in
page), ``nav`` (the role's menu), ``here`` (the current path), ``languages`` with a switch
URL each, and ``lang`` (the current code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leadfunnel.entrypoints.web.i18n import LANG_COOKIE, LANGUAGES, language, language_from
from leadfunnel.entrypoints.web.navigation import pages_for
from leadfunnel.entrypoints.web.session import Viewer

__all__ = ["render", "request_language"]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_YEAR = 365 * 24 * 3600
#: Pages load scripts, styles and data only from this server (Plotly styles its chart
#: inline), may not be framed, and are not cached: they show people's data.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def request_language(request: Request) -> str:
    return language_from(param=request.query_params.get("lang"),
                         cookie=request.cookies.get(LANG_COOKIE),
                         accept=request.headers.get("accept-language"))  # fmt: skip


def _switch_url(request: Request, code: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*params, ('lang', code)])}"


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    viewer: Viewer | None,
    status: int = 200,
) -> HTMLResponse:
    code = request_language(request)
    lang = language(code)
    context = {
        **values,
        "_": lang.gettext,
        "fmt": lang,
        "lang": code,
        "viewer": viewer,
        "nav": pages_for(viewer.principal.role) if viewer else [],
        "here": request.url.path,
        "languages": [(c, name, _switch_url(request, c)) for c, name in LANGUAGES.items()],
    }
    response = HTMLResponse(
        _env.get_template(template).render(context), status_code=status, headers=_HEADERS
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=_YEAR, samesite="lax", path="/")
    return response
