"""Adding the web pages to the API's application: the page routers, ``/static`` and Plotly.

Plotly's browser bundle is served from the installed ``plotly`` package at
``/static/plotly.min.js``; nothing a page needs is fetched from anywhere but this server.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from leadfunnel.entrypoints.web.answers import Answers
from leadfunnel.entrypoints.web.pages import (
    attribution,
    auth,
    dashboard,
    explorer,
    forecast,
    imports,
    leads,
    pipeline,
    rules,
    sla,
)

__all__ = ["PLOTLY_JS", "mount_web"]

_STATIC = Path(__file__).parent / "static"


def _plotly_js() -> Path:
    """Where the installed plotly package keeps its browser bundle (found, not imported:
    the Python side of plotly is not needed)."""
    spec = find_spec("plotly")
    places = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for place in places for p in Path(place).rglob("plotly.min.js"))
    if not found:
        raise RuntimeError("the installed plotly package has no plotly.min.js; reinstall plotly")
    return found[0]


PLOTLY_JS = _plotly_js()


def mount_web(api: FastAPI) -> None:
    """Serve the dashboard's pages, its static files and Plotly's script from ``api``."""

    @api.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    api.state.answers = Answers()  # remembered dashboard answers (web/answers.py)
    api.mount("/static", StaticFiles(directory=_STATIC), name="static")
    for module in (
        auth,
        dashboard,
        explorer,
        attribution,
        leads,
        pipeline,
        forecast,
        sla,
        rules,
        imports,
    ):
        api.include_router(module.router)
