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
import threading
import time
import uuid

__all__ = ["RANDOM_BITS", "id_at", "id_time_ms", "new_id"]

#: Random bits in a UUIDv7 besides its time, version and variant: 12 (``rand_a``) + 62 (``rand_b``).
RANDOM_BITS = 74

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    """Return a new UUIDv7, strictly greater than every id this process made before."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave room to count up
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


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
