"""Many readers or one writer: how one process shares its DuckDB file between threads.

DuckDB refuses to open a read-write connection to a file while the same process holds a
read-only one to it (and the other way round), so the sync (which writes) and the questions
(which read) must not overlap: a sync waits for the open questions to finish, and a question
waits for a running sync. The sync runs at most once at a time already (the engine's sync
lock), and every question passes through the sync first, so a waiting sync is not starved.
Neither side may be entered again from inside the other (a reader that syncs would wait for
itself).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ReadWriteGate"]


class ReadWriteGate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._changed:
            while self._writing:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            while self._readers or self._writing:
                self._changed.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()
