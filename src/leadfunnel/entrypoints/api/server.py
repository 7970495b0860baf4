"""What uvicorn runs for ``leadfunnel serve``: the API built from the environment.

Each uvicorn worker process calls :func:`api_from_environment` (``factory=True``), so every
process opens its own connection pool; ``LEADFUNNEL_SERVE_WORKER_INTERVAL`` (seconds, 0 for
none) starts the embedded background worker in each process. Jobs are leased, so several
processes never run one job twice. ``LEADFUNNEL_SERVE_WARM`` (``1``, the default, or ``0``)
says whether the process starts computing the default dashboard at once.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from leadfunnel.bootstrap import build_app
from leadfunnel.config import load_settings
from leadfunnel.entrypoints.api.app import create_api

__all__ = ["WARM_ENV", "WORKER_INTERVAL_ENV", "api_from_environment"]

WORKER_INTERVAL_ENV = "LEADFUNNEL_SERVE_WORKER_INTERVAL"
#: "1" (the default): warm the default dashboard at start; ``serve --workers N`` sets "0".
WARM_ENV = "LEADFUNNEL_SERVE_WARM"


def api_from_environment() -> FastAPI:
    interval = float(os.environ.get(WORKER_INTERVAL_ENV, "15") or 0)
    app = build_app(load_settings())
    warm = os.environ.get(WARM_ENV, "1") == "1"
    return create_api(app, worker_interval=interval or None, close_app=True, warm_dashboards=warm)
