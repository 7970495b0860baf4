"""The worker embedded in a long-running process (``leadfunnel serve`` starts one).

A daemon thread runs :func:`leadfunnel.services.worker.run_due_jobs` every ``interval``
seconds until stopped; a pass that fails is logged and the next one runs as usual (the
jobs themselves are retried by the queue). ``leadfunnel worker`` is the same loop as a
process of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from leadfunnel.bootstrap import App
from leadfunnel.services.worker import WorkerPass, run_due_jobs, schedule_sweeps

__all__ = ["EmbeddedWorker"]

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, app: App, *, interval: float = 15.0, limit: int = 100) -> None:
        self.app, self.interval, self.limit = app, interval, limit
        self.name = f"embedded:{socket.gethostname()}:{os.getpid()}"
        self.passes = 0
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadfunnel-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop after its current pass and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> WorkerPass:
        schedule_sweeps(uow_factory=self.app.uow_factory, now=self.app.clock())
        done = run_due_jobs(
            uow_factory=self.app.uow_factory,
            now=self.app.clock(),
            worker=self.name,
            limit=self.limit,
        )
        self.passes += 1
        self.done += done.done
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a pass must never kill the serving process
                log.exception("background worker pass failed; trying again in %s s", self.interval)
            self._stop.wait(self.interval)
