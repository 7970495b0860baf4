"""``leadfunnel serve``: the REST API (and, with it, the background jobs) on uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from leadfunnel.entrypoints.api.server import WARM_ENV, WORKER_INTERVAL_ENV
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app

__all__ = ["run_server", "serve_command"]


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1, max=64)] = 1,
    worker_interval: Annotated[
        float,
        typer.Option(help="Seconds between background job passes in each process; 0 for none."),
    ] = 15.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve the web dashboard at / and the REST API under /api/v1 (OpenAPI at
    /api/v1/openapi.json), with the background jobs (SLA checks, escalations, reclaims)
    running in the same process."""
    with open_app(db) as app:  # fail now, with the usual message, if the store is not ready
        url = app.settings.database_url
    site = f"http://{host}:{port}"
    base = f"{site}/api/v1"
    emit(as_json, {"api": base, "openapi": f"{base}/openapi.json", "dashboard": f"{site}/",
                   "workers": workers},
         lambda: console.print(f"leadfunnel dashboard on {site}/ and API on {base} (Ctrl+C to stop)"))  # fmt: skip
    run_server(url, host=host, port=port, workers=workers, worker_interval=worker_interval)


def run_server(
    url: str, *, host: str, port: int, workers: int = 1, worker_interval: float = 15.0
) -> None:
    """Serve the store at ``url`` until interrupted (each uvicorn process builds its own app)."""
    import uvicorn

    os.environ["LEADFUNNEL_DATABASE_URL"] = url
    os.environ[WORKER_INTERVAL_ENV] = str(worker_interval)
    # One process warms the dashboards: several would race for the DuckDB file beside SQLite.
    os.environ[WARM_ENV] = "1" if workers == 1 else "0"
    uvicorn.run("leadfunnel.entrypoints.api.server:api_from_environment", factory=True,
                host=host, port=port, workers=workers, log_level="warning",
                access_log=False, server_header=False)  # fmt: skip
