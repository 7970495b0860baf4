"""Remembered dashboard answers: fresh, stale while refreshed, and never too old."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from leadfunnel.entrypoints.web.answers import ANALYTICS_LOCK, Answers

NOW = datetime(2026, 3, 2, 9, 30, 5, tzinfo=UTC)


class Store:
    """An engine as the answers see it: a data version that moves with each write."""

    def __init__(self) -> None:
        self.version = 1
        self.rows = 3
        self.last_sync_seconds = 0.0
        self.synced = 1

    def sync(self, *, now: datetime) -> None:
        self.synced = self.version

    def sync_due(self) -> bool:
        return self.synced != self.version

    def data_version(self) -> int:
        return self.version

    def write(self) -> None:
        self.rows += 1
        self.version += 1


class Counting:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[datetime] = []

    def __call__(self, moment: datetime) -> int:
        self.calls.append(moment)
        return self.store.rows


def test_an_answer_is_used_again_until_the_data_changes_then_a_cheap_one_is_recomputed() -> None:
    store, remembered = Store(), Answers(slow=3600.0)
    compute = Counting(store)
    assert remembered.ask(store, "q", NOW, compute).value == 3
    again = remembered.ask(store, "q", NOW + timedelta(seconds=20), compute)
    assert (again.value, again.stale, len(compute.calls)) == (3, False, 1)
    store.write()
    after = remembered.ask(store, "q", NOW + timedelta(seconds=30), compute)
    assert (after.value, after.stale, len(compute.calls)) == (4, False, 2)
    # A new minute is a new moment: "still open" and periods depend on it.
    remembered.ask(store, "q", NOW + timedelta(minutes=1), compute)
    assert len(compute.calls) == 3


def test_a_slow_answer_is_shown_as_of_its_time_while_a_new_one_is_computed() -> None:
    store, remembered = Store(), Answers(slow=0.0)
    compute = Counting(store)
    first = remembered.ask(store, "q", NOW, compute)
    store.write()
    later = NOW + timedelta(seconds=40)
    stale = remembered.ask(store, "q", later, compute)
    assert (stale.value, stale.stale, stale.as_of) == (3, True, NOW)
    assert first.as_of == NOW
    assert remembered.wait_idle(10)
    fresh = remembered.ask(store, "q", later, compute)
    assert (fresh.value, fresh.stale, fresh.as_of) == (4, False, later)
    assert compute.calls == [NOW, later] and remembered.refreshes == 1


def test_a_stale_answer_does_not_wait_for_the_refresh_that_holds_the_analytics_lock() -> None:
    store, remembered = Store(), Answers(slow=0.0)
    release, started = threading.Event(), threading.Event()

    def blocking(moment: datetime) -> int:
        if moment != NOW:
            started.set()
            assert release.wait(10)
        return store.rows

    remembered.ask(store, "q", NOW, blocking)
    store.write()
    assert remembered.ask(store, "q", NOW + timedelta(seconds=1), blocking).stale
    assert started.wait(10)  # the refresh is running and holds the lock
    if ANALYTICS_LOCK.acquire(blocking=False):
        ANALYTICS_LOCK.release()
        raise AssertionError("the refresh should hold the analytics lock")
    again = remembered.ask(store, "q", NOW + timedelta(seconds=2), blocking)
    assert (again.value, again.stale) == (3, True)
    release.set()
    assert remembered.wait_idle(10)
    assert remembered.ask(store, "q", NOW + timedelta(seconds=3), blocking).value == 4


def test_an_answer_older_than_max_stale_is_never_shown() -> None:
    ticks = [0.0]
    store = Store()
    remembered = Answers(slow=0.0, max_stale=60.0, clock=lambda: ticks[0])
    compute = Counting(store)
    remembered.ask(store, "q", NOW, compute)
    store.write()
    ticks[0] = 61.0
    answered = remembered.ask(store, "q", NOW + timedelta(seconds=50), compute)
    assert (answered.value, answered.stale) == (4, False)


def test_a_failed_refresh_keeps_the_old_answer() -> None:
    store, remembered = Store(), Answers(slow=0.0)
    store.write()

    def failing(moment: datetime) -> int:
        if moment != NOW:
            raise RuntimeError("analytics store unavailable")
        return store.rows

    assert remembered.ask(store, "f", NOW, failing).value == 4
    store.write()
    assert remembered.ask(store, "f", NOW + timedelta(seconds=5), failing).value == 4
    assert remembered.wait_idle(10)
    stale = remembered.ask(store, "f", NOW + timedelta(seconds=6), failing)
    assert (stale.value, stale.stale) == (4, True)


def test_without_a_data_version_an_answer_lives_ttl_seconds() -> None:
    ticks = [0.0]
    remembered = Answers(ttl=30.0, slow=3600.0, clock=lambda: ticks[0])
    compute, engine = Counting(Store()), object()  # an engine without a data version
    remembered.ask(engine, "q", NOW, compute)
    ticks[0] = 29.0
    remembered.ask(engine, "q", NOW, compute)
    ticks[0] = 31.0
    remembered.ask(engine, "q", NOW, compute)
    assert len(compute.calls) == 2


def test_the_sync_a_change_needs_counts_toward_a_slow_answer() -> None:
    store, remembered = Store(), Answers(slow=0.5)
    store.last_sync_seconds = 1.0  # the engine's last real sync
    compute = Counting(store)
    remembered.ask(store, "q", NOW, compute)  # computed in no time
    # A new minute, same data: no sync needed, so it is cheap and answered again at once.
    assert not remembered.ask(store, "q", NOW + timedelta(minutes=1), compute).stale
    store.write()  # now answering again needs a one-second sync first
    stale = remembered.ask(store, "q", NOW + timedelta(minutes=1, seconds=5), compute)
    assert (stale.value, stale.stale) == (3, True)
    assert remembered.wait_idle(10)


def test_viewers_queued_behind_a_computation_take_its_answer_even_after_a_write() -> None:
    waiting = threading.Event()

    def clock() -> float:  # the second viewer reads it just before it waits for the lock
        if threading.current_thread().name == "second":
            waiting.set()
        return time.monotonic()

    store, remembered = Store(), Answers(slow=float("inf"), clock=clock)
    started, release = threading.Event(), threading.Event()
    calls: list[datetime] = []

    def blocking(moment: datetime) -> int:
        calls.append(moment)
        started.set()
        assert release.wait(10)
        return store.rows

    first = threading.Thread(target=remembered.ask, args=(store, "q", NOW, blocking))
    first.start()
    assert started.wait(10)
    answered: list[Any] = []
    second = threading.Thread(
        target=lambda: answered.append(remembered.ask(store, "q", NOW + timedelta(minutes=1), blocking)),
        name="second",
    )
    store.write()  # the second viewer sees newer data and a new minute...
    second.start()
    assert waiting.wait(10)  # ...and waits for the lock the first one holds
    release.set()
    first.join(10)
    second.join(10)
    assert len(calls) == 1 and answered[0].as_of == NOW  # the first one's answer


def test_a_refresh_for_an_earlier_moment_never_replaces_a_later_answer() -> None:
    store, remembered = Store(), Answers(slow=0.0)
    compute = Counting(store)
    later = NOW + timedelta(minutes=2)
    remembered.ask(store, "q", later, compute)
    remembered.warm(store, "q", NOW, compute)  # queued with an older moment
    assert remembered.wait_idle(10)
    again = remembered.ask(store, "q", later, compute)
    assert (again.as_of, again.stale, compute.calls) == (later, False, [later])


def test_a_closed_answers_refreshes_nothing_more() -> None:
    store, remembered = Store(), Answers(slow=0.0)
    compute = Counting(store)
    remembered.ask(store, "q", NOW, compute)
    remembered.close()
    store.write()
    assert remembered.ask(store, "q", NOW + timedelta(seconds=5), compute).stale
    assert remembered.wait_idle(1) and compute.calls == [NOW]


class UnsyncedStore(Store):
    """A store that can also answer as its last sync left it (``unsynced``), as the DuckDB
    engine can; questions asked so see the rows of that sync."""

    def __init__(self) -> None:
        super().__init__()
        self.last_synced_at: datetime | None = NOW - timedelta(seconds=10)
        self.synced_rows = self.rows
        self.reading_unsynced = False

    def sync(self, *, now: datetime) -> None:
        super().sync(now=now)
        self.synced_rows, self.last_synced_at = self.rows, now

    @contextmanager
    def unsynced(self) -> Iterator[None]:
        self.reading_unsynced = True
        try:
            yield
        finally:
            self.reading_unsynced = False


def _as_synced(store: UnsyncedStore) -> Callable[[datetime], int]:
    def compute(moment: datetime) -> int:
        if not store.reading_unsynced:
            store.sync(now=moment)  # as the engine does before each question
        return store.synced_rows

    return compute


def test_a_new_question_while_a_slow_sync_is_due_reads_the_last_sync_then_refreshes() -> None:
    store, remembered = UnsyncedStore(), Answers(slow=0.5)
    store.last_sync_seconds = 1.0
    synced_at = store.last_synced_at
    store.write()  # 4 rows; the store still holds 3 until it syncs
    first = remembered.ask(store, "new", NOW, _as_synced(store))
    assert (first.value, first.stale, first.as_of, remembered.unsynced) == (3, True, synced_at, 1)
    assert remembered.wait_idle(10) and remembered.refreshes == 1  # synced and answered again
    after = remembered.ask(store, "new", NOW + timedelta(seconds=5), _as_synced(store))
    assert (after.value, after.stale, after.as_of) == (4, False, NOW)


def test_a_quick_sync_or_an_old_one_is_waited_for() -> None:
    store, remembered = UnsyncedStore(), Answers(slow=0.5)
    store.last_sync_seconds = 0.1  # quick: sync, then answer, as before
    store.write()
    assert remembered.ask(store, "a", NOW, _as_synced(store)).value == 4
    store.last_sync_seconds, store.last_synced_at = 1.0, NOW - timedelta(hours=1)
    store.write()  # slow, but the last sync is older than max_stale: never shown
    answer = remembered.ask(store, "b", NOW, _as_synced(store))
    assert (answer.value, answer.stale, remembered.unsynced) == (5, False, 0)


def test_a_real_engine_answers_a_new_question_unsynced_then_with_the_write(app) -> None:
    from leadfunnel.adapters.warehouse.engine import analytics_engine
    from leadfunnel.services.kpis import run_kpis
    from tests.builders import submit

    submit(app, email="first@client.example")
    engine = analytics_engine(app.engine)
    engine.sync(now=app.clock())
    submit(app, email="second@client.example")
    remembered = Answers(slow=0.0)  # every sync counts as slow

    def leads(moment: datetime) -> int:
        return run_kpis(engine=engine, now=moment).rows[0].counts.leads

    answer = remembered.ask(engine, "leads", app.clock(), leads)
    assert (answer.value, answer.stale, answer.as_of) == (1, True, engine.last_synced_at)
    assert remembered.wait_idle(30)
    assert remembered.ask(engine, "leads", app.clock(), leads).value == 2
    engine.close()
