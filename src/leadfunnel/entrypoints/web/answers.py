"""Remembered analytics answers for the dashboard pages.

A dashboard is opened far more often than its data changes, and on a large store one KPI
question costs seconds. So the pages ask through :class:`Answers`: an answer is kept for a
question (the page's parameters and the viewer's scope) and the minute it was asked in, and
is used again while the write store has not changed since (the analytics engine's
``data_version()``: a token that changes with every committed write; engines that cannot
tell give None, and then an answer lives :attr:`Answers.ttl` seconds). Answers are computed
under the analytics lock, one at a time per process, so two viewers asking the same
question at once compute it once.

The API and the CLI never use it: their answers are exact to the second.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from leadfunnel.domain.access import analytics_owners

__all__ = ["ANALYTICS_LOCK", "Answers", "answers", "scope_of"]

T = TypeVar("T")

#: The analytics store is synced before each question; one question at a time per process
#: keeps two syncs of the same file from racing (every analytics page takes it).
ANALYTICS_LOCK = threading.RLock()


class Answers:
    """Answers by (question, minute, data version); least recently used dropped past
    ``capacity``."""

    def __init__(self, *, ttl: float = 30.0, capacity: int = 256,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, engine: Any, question: Hashable, now: datetime, compute: Callable[[], T]) -> T:
        """The remembered answer to ``question`` asked at ``now`` (to the minute), or
        ``compute()``'s, remembered. Call it holding :data:`ANALYTICS_LOCK`."""
        version = _version(engine)
        key = (question, now.replace(second=0, microsecond=0), version)
        found = self._entries.get(key)
        if found is not None and (version is not None or self._clock() - found[0] < self.ttl):
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]  # type: ignore[no-any-return]
        self.misses += 1
        value = compute()
        self._entries[key] = (self._clock(), value)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return value


def _version(engine: Any) -> Hashable | None:
    ask = getattr(engine, "data_version", None)
    return ask() if callable(ask) else None


def answers(request: Any) -> Answers:
    """The process's remembered answers (``mount_web`` puts them on the application)."""
    found: Answers = request.app.state.answers
    return found


def scope_of(principal: Any) -> Hashable:
    """What makes two viewers' answers differ: the leads their reports cover, and the role
    (spend is shown to company-wide roles only)."""
    owners = analytics_owners(principal)
    return (principal.role, None if owners is None else tuple(sorted(map(str, owners))))
