"""Remembered analytics answers for the dashboard pages.

A dashboard is opened far more often than its data changes, and on a large store one KPI
question costs seconds. So the pages ask through :class:`Answers`: one answer is kept per
question (the page's parameters and the viewer's scope) with the minute it was asked in and
the write store's version then (the analytics engine's ``data_version()``: a token that
changes with every committed write; engines that cannot tell give None, and then an answer
lives :attr:`Answers.ttl` seconds). It is used again while both still hold.

When they no longer hold, a question that is cheap to answer again (its last computation,
plus the engine's last sync when the data changed, under :attr:`Answers.slow` seconds) is
answered again at once: small stores always show the latest figures. A slow one is answered from memory, marked with the time it was computed
(:attr:`Answer.as_of`, shown on the page as "figures as of"), while a background thread
computes the new answer; the next view shows it. This is how Salesforce and HubSpot
dashboards behave (figures as of their last refresh), except that the refresh is automatic.
An answer older than :attr:`Answers.max_stale` seconds is never shown: the page waits for a
new one.

A question not remembered at all, asked while the analytics store is due a sync that takes
:attr:`Answers.slow` seconds or more (a large store right after any write: 0.3 s at a
million leads), is answered from the store as its last sync left it (the engine's
``unsynced()``), marked as of that sync, and refreshed in the background like a stale one:
a new period or filter on a busy system shows at once, seconds behind at most.

Answers are computed under :data:`ANALYTICS_LOCK`, one at a time per process, so two viewers
asking the same question at once compute it once, and a background refresh never races a
page's question on the analytics store.

The API and the CLI never use it: their answers are exact to the second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from leadfunnel.domain.access import analytics_owners

__all__ = ["ANALYTICS_LOCK", "Answer", "Answers", "answers", "scope_of"]

T = TypeVar("T")

log = logging.getLogger(__name__)

#: The analytics store is synced before each question; one question at a time per process
#: keeps two syncs of the same file from racing (every analytics page takes it).
ANALYTICS_LOCK = threading.RLock()


@dataclass(frozen=True)
class Answer(Generic[T]):
    """An answer and when it was computed; ``stale``: a newer one is being computed."""

    value: T
    as_of: datetime
    stale: bool = False


@dataclass(frozen=True)
class _Entry:
    minute: datetime
    version: Hashable | None
    stored: float  # the clock when computed
    as_of: datetime
    cost: float  # seconds the computation took
    value: Any


class Answers:
    """The latest answer per question; least recently used dropped past ``capacity``."""

    def __init__(self, *, ttl: float = 30.0, capacity: int = 256, slow: float = 0.25,
                 max_stale: float = 900.0, background: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 timer: Callable[[], float] = time.perf_counter) -> None:  # fmt: skip
        self.ttl = ttl
        self.slow = slow
        self.max_stale = max_stale
        self._background = background
        self._capacity = capacity
        self._clock = clock
        self._timer = timer
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._mutex = threading.Lock()
        self._pending: dict[Hashable, tuple[Any, datetime, Callable[[datetime], Any]]] = {}
        self._wake = threading.Condition(self._mutex)
        self._worker: threading.Thread | None = None
        self._running = False
        self._closed = False
        self.hits = 0
        self.misses = 0
        self.stale_hits = 0
        self.refreshes = 0
        #: Answers given from the store as last synced (a sync was due and slow).
        self.unsynced = 0

    def ask(self, engine: Any, question: Hashable, now: datetime,
            compute: Callable[[datetime], T]) -> Answer[T]:  # fmt: skip
        """The answer to ``question`` asked at ``now``: remembered, remembered and being
        refreshed (a slow question whose data changed), or ``compute(now)``'s.

        Do not hold :data:`ANALYTICS_LOCK` when calling: a stale answer is returned without
        waiting for a refresh that holds it."""
        minute = now.replace(second=0, microsecond=0)
        version = _version(engine)
        with self._mutex:
            found = self._entries.get(question)
            if found is not None and self._fresh(found, minute, version):
                self._entries.move_to_end(question)
                self.hits += 1
                return Answer(found.value, found.as_of)
            if (self._background and found is not None
                    and self._recompute_cost(engine, found) >= self.slow
                    and self._clock() - found.stored < self.max_stale):  # fmt: skip
                self._entries.move_to_end(question)
                self.stale_hits += 1
                self._schedule(question, engine, now, compute)
                return Answer(found.value, found.as_of, stale=True)
            synced_at = self._unsynced_moment(engine, now)
        if synced_at is not None:
            return self._answer_unsynced(engine, question, now, compute, synced_at)
        entered = self._clock()
        with ANALYTICS_LOCK:
            # Another thread may have answered it while this one waited for the lock: an
            # answer stored since is as new as this one would be, even if a write or a new
            # minute came meanwhile (else viewers queued behind it would each compute again).
            with self._mutex:
                found = self._entries.get(question)
                if found is not None and (found.stored > entered or self._fresh(found, minute, version)):
                    self.hits += 1
                    return Answer(found.value, found.as_of)
                self.misses += 1
            return Answer(self._compute(engine, question, now, compute), now)

    def warm(self, engine: Any, question: Hashable, now: datetime,
             compute: Callable[[datetime], Any]) -> None:  # fmt: skip
        """Compute ``question``'s answer in the background unless a current one is
        remembered (a page that asks meanwhile waits for it instead of computing it twice)."""
        minute = now.replace(second=0, microsecond=0)
        version = _version(engine)
        with self._mutex:
            found = self._entries.get(question)
            if found is None or not self._fresh(found, minute, version):
                self._schedule(question, engine, now, compute)

    def close(self, timeout: float = 30.0) -> None:
        """Stop refreshing (the server is shutting down): queued refreshes are dropped and
        one that is running is waited for, up to ``timeout`` seconds."""
        with self._mutex:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no refresh is pending or running (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._mutex:
            while self._pending or self._running:
                left = deadline - time.monotonic()
                if left <= 0 or not self._wake.wait(left):
                    return not (self._pending or self._running)
        return True

    # -- inside -------------------------------------------------------------------------

    def _unsynced_moment(self, engine: Any, now: datetime) -> datetime | None:
        """When a question should read the store as last synced (hold ``_mutex``): the
        moment of that sync, if the engine can answer so, is due a sync, its syncs are slow
        and the last one is under :attr:`max_stale` seconds old; else None."""
        synced_at = getattr(engine, "last_synced_at", None)
        due = getattr(engine, "sync_due", None)
        if not (self._background and isinstance(synced_at, datetime) and callable(due)
                and hasattr(engine, "unsynced")):  # fmt: skip
            return None
        slow = getattr(engine, "last_sync_seconds", 0.0) >= self.slow
        recent = (now - synced_at).total_seconds() < self.max_stale
        return synced_at if slow and recent and due() else None

    def _answer_unsynced(self, engine: Any, question: Hashable, now: datetime,
                         compute: Callable[[datetime], T], synced_at: datetime) -> Answer[T]:  # fmt: skip
        """Answer from the store as last synced, remember it as never fresh, and schedule
        the refresh that syncs and answers again."""
        with ANALYTICS_LOCK, engine.unsynced():
            started = self._timer()
            value = compute(now)
            cost = self._timer() - started
        entry = _Entry(now.replace(second=0, microsecond=0), _NEVER, self._clock(), synced_at,
                       cost, value)  # fmt: skip
        with self._mutex:
            self.unsynced += 1
            if question not in self._entries:
                self._entries[question] = entry
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
            self._schedule(question, engine, now, compute)
        return Answer(value, synced_at, stale=True)

    def _recompute_cost(self, engine: Any, entry: _Entry) -> float:
        """What answering again is expected to take: the last computation (without its
        sync), plus the engine's last sync when one is due now (engines that say)."""
        due = getattr(engine, "sync_due", None)
        synced = getattr(engine, "last_sync_seconds", 0.0) if callable(due) and due() else 0.0
        return entry.cost + (synced if isinstance(synced, float) else 0.0)

    def _fresh(self, entry: _Entry, minute: datetime, version: Hashable | None) -> bool:
        if entry.minute != minute:
            return False
        if version is None:
            return self._clock() - entry.stored < self.ttl
        return entry.version == version

    def _compute(self, engine: Any, question: Hashable, now: datetime,
                 compute: Callable[[datetime], T]) -> T:  # fmt: skip
        """Compute and remember (hold :data:`ANALYTICS_LOCK`). The version is read before
        computing: a write made meanwhile makes the answer old at once, never wrongly new.
        The analytics store is synced first, apart, so ``cost`` is the question's own."""
        version = _version(engine)
        sync = getattr(engine, "sync", None)
        if callable(sync):
            sync(now=now)
        started = self._timer()
        value = compute(now)
        cost = self._timer() - started
        entry = _Entry(now.replace(second=0, microsecond=0), version, self._clock(), now, cost, value)
        with self._mutex:
            newer = self._entries.get(question)
            if newer is not None and newer.as_of > now:  # a later moment's answer stays
                return value
            self._entries[question] = entry
            self._entries.move_to_end(question)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return value

    def _schedule(self, question: Hashable, engine: Any, now: datetime,
                  compute: Callable[[datetime], Any]) -> None:  # fmt: skip
        """Queue a refresh (hold ``_mutex``); a question already queued keeps one place."""
        if self._closed:
            return
        self._pending[question] = (engine, now, compute)
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._refresh_loop, name="answers-refresh", daemon=True)
            self._worker.start()
        self._wake.notify_all()

    def _refresh_loop(self) -> None:
        while True:
            with self._mutex:
                while not self._pending and not self._closed:
                    self._running = False
                    self._wake.notify_all()
                    if not self._wake.wait(60.0) and not self._pending:
                        self._worker = None
                        return
                if self._closed:
                    self._pending.clear()
                    self._running = False
                    self._wake.notify_all()
                    self._worker = None
                    return
                question, (engine, now, compute) = next(iter(self._pending.items()))
                del self._pending[question]
                self._running = True
            # Computed for the moment of the latest page that found the answer old.
            try:
                with ANALYTICS_LOCK:
                    found = self._entries.get(question)
                    minute = now.replace(second=0, microsecond=0)
                    version = _version(engine)
                    current = found is not None and (
                        self._fresh(found, minute, version)
                        or (found.as_of >= now and (version is None or found.version == version))
                    )
                    if not current and not self._closed:
                        self._compute(engine, question, now, compute)
                        self.refreshes += 1
            except Exception:  # a failed refresh leaves the old answer; the next view retries
                log.exception("refreshing a remembered answer failed")
            finally:
                with self._mutex:
                    self._running = False
                    self._wake.notify_all()


#: The version of an answer read without syncing: equal to no data version, so never fresh.
_NEVER = object()


def _version(engine: Any) -> Hashable | None:
    ask = getattr(engine, "data_version", None)
    return ask() if callable(ask) else None


def answers(request: Any) -> Answers:
    """The process's remembered answers (``mount_web`` puts them on the application)."""
    found: Answers = request.app.state.answers
    return found


def scope_of(principal: Any) -> Hashable:
    """What makes two viewers' answers differ: the leads their reports cover, and the role
    (spend is shown to company-wide roles only; those, seeing every lead, share answers)."""
    owners = analytics_owners(principal)
    if owners is None:
        return ("company-wide", None)
    return (principal.role, tuple(sorted(map(str, owners))))
