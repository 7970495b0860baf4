"""Preparing import batches before their transaction, ahead of the writer.

A batch is *prepared* (its cells mapped to fields and, for a kind that stages its work,
parsed, normalised and fingerprinted) and then *written* in one transaction. Preparing
touches no storage, so while the writer writes batch N a worker process can prepare
batch N+1: SQLite takes one writer at a time, and for leads preparing a batch (phone
numbers above all) costs about as much as writing it, so the second CPU halves the time.

What the writer stores does not depend on where a batch was prepared: batches are written
in file order, each prepared exactly as it would be in the writer's process. Workers write
nothing, so atomicity and resumption stay with the writer (``runner.py``); a worker whose
importing process was killed exits instead of waiting for work.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.services.imports.kinds import ImportKind, StagedImportKind
from leadfunnel.services.imports.mapping import ColumnMapping, RowError
from leadfunnel.services.ports import Clock

__all__ = ["PreparedBatch", "Preparation", "SourceRow", "prepare_ahead"]

#: A row as the source gives it: (row number, {column: cell}).
SourceRow = tuple[int, dict[str, str | None]]
#: A batch ready for its transaction: what the kind writes, and the rows already rejected.
PreparedBatch = tuple[Any, list[RowError]]
Prepare = Callable[[list[SourceRow], datetime], PreparedBatch]


@dataclass(frozen=True)
class Preparation:
    """What happens to a batch before its transaction: the mapping, then the kind's
    ``prepare`` step when it is a :class:`StagedImportKind`. Picklable, so it can run in a
    worker process; ``now`` stands in for missing times (the writer's clock, read when the
    batch was handed out)."""

    spec: ImportKind
    mapping: ColumnMapping
    region: str

    @property
    def staged(self) -> bool:
        return isinstance(self.spec, StagedImportKind)

    def __call__(self, chunk: list[SourceRow], now: datetime) -> PreparedBatch:
        applied = [(n, *self.mapping.apply(n, row)) for n, row in chunk]
        rows = [(n, fields) for n, fields, error in applied if error is None]
        rejected = [error for _, _, error in applied if error is not None]
        if isinstance(self.spec, StagedImportKind):
            prepared = self.spec.prepare(
                rows, mapping=self.mapping, default_region=self.region, now=now
            )
            return prepared, rejected
        return rows, rejected


def prepare_ahead(
    prepare: Prepare,
    batches: list[list[SourceRow]],
    clock: Clock,
    workers: int,
    *,
    start_inline: bool = True,
) -> Generator[PreparedBatch, None, None]:
    """``prepare(batch, clock())`` for each batch, in order.

    With ``workers`` (and more than one batch) the batches are prepared in that many worker
    processes, at most ``workers + 1`` ahead of the caller, so memory stays bounded. When
    the next batch is not ready, the caller prepares a later one itself instead of waiting,
    so neither CPU idles whichever side is slower (writing or preparing). A worker takes a
    moment to start (a fresh interpreter importing the code); with ``start_inline`` batches
    are prepared here until one has started, so a short import never waits for it. Close
    the generator to stop the workers: they finish at most the batches in hand. Without
    process support (no ``/dev/shm``, say) everything is prepared here.
    """
    pool = _pool(workers) if workers >= 1 and len(batches) > 1 else None
    if pool is None:
        for chunk in batches:
            yield prepare(chunk, clock())
        return
    try:
        started = pool.submit(_started)
        if not start_inline:
            wait([started])
        queued: deque[Future[PreparedBatch]] = deque()
        index = 0
        while index < len(batches) or queued:
            # (A worker that failed to start leaves every batch to this process.)
            ready = started.done() and started.exception() is None
            while ready and index < len(batches) and len(queued) <= workers:
                queued.append(pool.submit(prepare, batches[index], clock()))
                index += 1
            behind = not queued or (not queued[0].done() and len(queued) <= 2 * workers + 1)
            if behind and index < len(batches):
                here: Future[PreparedBatch] = Future()
                here.set_result(prepare(batches[index], clock()))
                queued.append(here)
                index += 1
                continue
            yield queued.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> ProcessPoolExecutor | None:
    # "spawn": a fresh interpreter inherits no open database connection, lock or thread.
    try:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
    except OSError:
        return None


def _started() -> bool:
    """A first task: done once a worker has started and imported the code."""
    return True


def _start_worker(parent: int) -> None:
    """In a worker: leave Ctrl-C to the importing process (which stops the workers), and
    exit when that process is gone (killed mid-import) instead of waiting for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
