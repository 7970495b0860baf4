"""``leadfunnel worker``: run due background jobs (SLA checks, reclaims) from the job table."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from leadfunnel.entrypoints.background import EmbeddedWorker
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.worker import WorkerPass

__all__ = ["worker_command"]


def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run one pass over the due jobs and exit (for cron).")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes.", min=0.1)] = 15.0,
    limit: Annotated[
        int, typer.Option(help="At most this many jobs a pass.", min=1, max=10_000)
    ] = 100,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run due background jobs: first-response SLA checks, escalations and reclaims.

    Several workers may run against PostgreSQL (jobs are claimed with SKIP LOCKED); run one
    against SQLite. A job whose worker died is taken up again when its lease ends."""
    total = WorkerPass()
    with open_app(db) as app:
        worker = EmbeddedWorker(app, interval=interval, limit=limit)  # its loop, in this thread
        try:
            while True:
                done = worker.run_once()
                total.claimed += done.claimed
                total.done += done.done
                total.failed += done.failed
                total.outcomes.update(done.outcomes)
                if done.claimed and not as_json:
                    console.print(
                        f"{done.done} jobs done, {done.failed} failed: {dict(done.outcomes)}"
                    )
                if once:
                    break
                if done.claimed < limit:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass

    emit(
        as_json,
        total.to_dict(),
        lambda: console.print(f"Worker stopped: {total.done} jobs done, {total.failed} failed."),
    )
