"""Time-ordered identifiers (UUID version 7, RFC 9562).

A UUIDv7 starts with the 48-bit Unix time in milliseconds, so ids sort by creation time and
index well. Within one millisecond the next 12 bits (``rand_a``) act as a counter seeded at
random, so ids made by one process are strictly increasing even when the clock stands still
or steps back a little.

>>> a, b = new_id(), new_id()
>>> a < b and a.version == 7
True

Rows whose creation time is not now (simulated or imported history) get their id from
:func:`id_at`, so they still sort by the time they describe.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid

__all__ = ["RANDOM_BITS", "id_at", "id_time_ms", "new_id", "new_ids"]

#: Random bits in a UUIDv7 besides its time, version and variant: 12 (``rand_a``) + 62 (``rand_b``).
RANDOM_BITS = 74

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """Return a new UUIDv7, strictly greater than every id this process made before."""
    with _lock:
        _catch_up_with_the_clock()
        head = _next_head()
    return uuid.UUID(int=head | (int.from_bytes(os.urandom(8), "big") & _RAND_B))


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` new UUIDv7s, increasing: what ``count`` calls of :func:`new_id` return, for
    bulk writers (an import batch needs thousands), at half the cost: one lock and one
    ``os.urandom`` call for all of them.

    >>> a, b = new_ids(2)
    >>> a < b < new_id()
    True
    """
    with _lock:
        _catch_up_with_the_clock()
        heads = [_next_head() for _ in range(count)]
    rand_b = struct.unpack(f">{count}Q", os.urandom(8 * count))
    return [uuid.UUID(int=head | (r & _RAND_B)) for head, r in zip(heads, rand_b, strict=True)]


_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)
_RAND_B = (1 << 62) - 1


def _catch_up_with_the_clock() -> None:
    """A new millisecond restarts the counter at a random value (call with ``_lock``)."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms > _last_ms:
        _last_ms = ms
        # leave room to count up; one below, as the next id counts first
        _counter = (int.from_bytes(os.urandom(2), "big") & 0x7FF) - 1


def _next_head() -> int:
    """The time, counter, version and variant bits of the next id (call with ``_lock``)."""
    global _last_ms, _counter
    _counter += 1
    if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
        _last_ms += 1
        _counter = 0
    return (_last_ms << 80) | (_counter << 64) | _VERSION_VARIANT


def id_at(ms: int, rand: int) -> uuid.UUID:
    """The UUIDv7 for Unix time ``ms`` (milliseconds) with ``rand`` as its 74 random bits.

    The top 12 bits of ``rand`` fill ``rand_a``, the low 62 ``rand_b``. Ids made this way
    sort by ``ms`` (ties in random order) and carry it back out through :func:`id_time_ms`:

    >>> value = id_at(1_735_689_600_000, 0x2A)
    >>> str(value), id_time_ms(value), value.version
    ('01941f29-7c00-7000-8000-00000000002a', 1735689600000, 7)
    """
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"{ms} is not a Unix time in milliseconds that fits 48 bits")
    if not 0 <= rand < 1 << RANDOM_BITS:
        raise ValueError(f"rand must be a {RANDOM_BITS}-bit non-negative integer")
    rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def id_time_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds embedded in a UUIDv7."""
    return value.int >> 80
