"""Group commit for intake: submissions that arrive together are written in one transaction.

A commit on SQLite (``synchronous=FULL``) waits for the disk: about 4 ms here, more than all
the work of a submission. When many web forms post at once, :class:`IntakeQueue` lets one
writer thread take every submission waiting at that moment (up to ``max_batch``), apply
them with :func:`~leadfunnel.services.intake.apply_intake` in one transaction and commit
once; each caller then gets its own outcome. Nothing is acknowledged before it is durable:
a caller's :meth:`IntakeQueue.submit` returns only after the commit that holds its lead.

Submissions keep their order within a batch, so de-duplication between them works as in a
file import (a later one merges into the lead an earlier one created). When a whole batch
fails for a reason that is not one submission's (a lost race with another writer), it is
retried; when it fails for a reason that is, each submission is retried alone so only the
culprit sees the error.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from leadfunnel.domain.errors import DomainError, StorageError
from leadfunnel.services.intake import MAX_ATTEMPTS, IntakeItem, IntakeResult, apply_intake
from leadfunnel.services.ports import ConcurrentWrite, UnitOfWorkFactory

__all__ = ["IntakeQueue"]

Outcome = IntakeResult | DomainError


@dataclass
class _Job:
    item: IntakeItem
    source: str
    actor: str
    done: Future[Outcome] = field(default_factory=Future)


class IntakeQueue:
    """One writer thread applying queued submissions in shared transactions."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 100,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.submissions = 0

    def submit(
        self, item: IntakeItem, *, source: str, actor: str, timeout: float = 30.0
    ) -> Outcome:
        """Queue one submission and wait until it is committed; its result or its error."""
        self._ensure_running()
        job = _Job(item, source, actor)
        self._queue.put(job)
        return job.done.result(timeout=timeout)

    async def submit_async(
        self, item: IntakeItem, *, source: str, actor: str, timeout: float = 30.0
    ) -> Outcome:
        """:meth:`submit` for an event loop: waits for the commit without blocking the loop."""
        self._ensure_running()
        job = _Job(item, source, actor)
        self._queue.put(job)
        return await asyncio.wait_for(asyncio.wrap_future(job.done), timeout)

    def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="leadfunnel-intake", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            self._write(jobs)
            if stop:
                return

    def _write(self, jobs: list[_Job]) -> None:
        try:
            outcomes = self._apply(jobs)
        except DomainError as exc:
            if len(jobs) == 1:
                jobs[0].done.set_result(exc)
                return
            for job in jobs:  # one of them broke the batch: let only that one fail
                self._write([job])
            return
        except BaseException as exc:  # the store failed: every waiting caller hears of it
            for job in jobs:
                if not job.done.done():
                    job.done.set_exception(exc)
            return
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.done.set_result(outcome)
        self.batches += 1
        self.submissions += len(jobs)

    def _apply(self, jobs: list[_Job]) -> list[Outcome]:
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, job in enumerate(jobs):
            groups[(job.source, job.actor)].append(index)
        for _ in range(MAX_ATTEMPTS):
            outcomes: list[Outcome | None] = [None] * len(jobs)
            try:
                with self._uow_factory() as uow:
                    now = self._clock()
                    for (source, actor), indexes in groups.items():
                        items = [jobs[i].item for i in indexes]
                        for i, outcome in zip(indexes, apply_intake(uow, items, source=source, actor=actor, now=now),
                                              strict=True):  # fmt: skip
                            outcomes[i] = outcome
                    uow.commit()
            except ConcurrentWrite:
                continue
            return [o for o in outcomes if o is not None]
        raise StorageError(
            "intake kept colliding with concurrent writes of the same leads; try again"
        )
