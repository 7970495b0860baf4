"""The FastAPI application: ``/api/v1`` routers, problem+json errors, OpenAPI at
``/api/v1/openapi.json``. ``create_api`` takes a wired :class:`App` so tests and
``leadfunnel serve`` share one construction."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from leadfunnel.bootstrap import App
from leadfunnel.entrypoints.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from leadfunnel.entrypoints.api.routes import (
    admin,
    analytics,
    attribution,
    auth,
    crm,
    exports,
    forecast,
    imports,
    intake,
    leads,
    pool,
    reports,
    reps,
    rules,
)
from leadfunnel.entrypoints.api.security import ApiState
from leadfunnel.entrypoints.background import EmbeddedWorker
from leadfunnel.entrypoints.web import mount_web
from leadfunnel.entrypoints.web.pages.dashboard import warm_dashboards as warm_web_dashboards
from leadfunnel.services.auth import AuthPolicy
from leadfunnel.services.intake_queue import IntakeQueue

__all__ = ["API_PREFIX", "create_api"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def _warm(api: FastAPI) -> None:
    try:
        warm_web_dashboards(api)
    except Exception:  # the pages still work, computing on first view
        log.exception("warming the dashboards failed")


def create_api(
    app: App,
    *,
    policy: AuthPolicy | None = None,
    worker_interval: float | None = None,
    close_app: bool = False,
    warm_dashboards: bool = False,
) -> FastAPI:
    """The API over ``app``. With ``worker_interval`` the process also runs the background
    jobs (SLA checks, reclaims) every that many seconds while it serves; with ``close_app``
    it closes ``app`` when it shuts down (``leadfunnel serve``; tests close their own); with
    ``warm_dashboards`` it starts computing the default company-wide dashboard at once."""

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        worker = EmbeddedWorker(app, interval=worker_interval).start() if worker_interval else None
        try:
            if warm_dashboards:  # in a thread: building the engine may take seconds (Spark)
                threading.Thread(target=_warm, args=(api,), name="dashboard-warm-up", daemon=True).start()
            yield
        finally:
            api.state.answers.close()
            state.intake.close()
            if worker is not None:
                worker.stop()
            if close_app:
                app.close()

    api = FastAPI(
        title="leadfunnel",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    state = ApiState(
        app=app, intake=IntakeQueue(app.uow_factory, app.clock), policy=policy or AuthPolicy()
    )
    api.state.api = state
    install_problem_handlers(api)
    v1 = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)

    @v1.get("/health", tags=["meta"], summary="Liveness: the process answers")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    # Intake first: it is the hot path, and routes are matched in the order they were added.
    for module in (
        intake,
        auth,
        leads,
        pool,
        crm,
        analytics,
        attribution,
        forecast,
        reports,
        reps,
        exports,
        rules,
        imports,
        admin,
    ):
        v1.include_router(module.router)
    api.include_router(v1)
    mount_web(api)
    return api
