"""UUIDv7 ids for simulated rows, many at a time, embedding each row's own time.

The vectorised twin of :func:`leadfunnel.domain.ids.id_at`: the same bits, as 32 lowercase
hex digits (the form the batch format uses). A lead created at 2025-01-01 00:00 UTC gets an
id starting ``01941f297c00``, so simulated history sorts by time like live data does:

>>> import numpy as np
>>> str(hex_ids(np.array([1_735_689_600_000]), np.array([0]), np.array([0x2A]))[0])
'01941f297c007000800000000000002a'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["hex_ids", "ids_at"]

_RAND_B_MASK = np.uint64((1 << 62) - 1)


def hex_ids(
    ms: npt.NDArray[Any], rand_a: npt.NDArray[Any], rand_b: npt.NDArray[Any]
) -> npt.NDArray[np.object_]:
    """UUIDv7 hex strings from Unix milliseconds and the two random fields (12 and 62 bits).

    ``hex_ids(ms, a, b)[i] == id_at(ms[i], (a[i] << 62) | b[i]).hex`` for every ``i``. The
    result is an object array of ``str``: rows referring to these ids index it, sharing the
    string objects instead of formatting them again.
    """
    raw = np.empty((len(ms), 2), dtype=">u8")
    raw[:, 0] = (ms.astype(np.uint64) << np.uint64(16)) | np.uint64(0x7000)
    raw[:, 0] |= rand_a.astype(np.uint64) & np.uint64(0xFFF)
    raw[:, 1] = (rand_b.astype(np.uint64) & _RAND_B_MASK) | np.uint64(1 << 63)
    digits = raw.tobytes().hex()
    out = np.empty(len(ms), dtype=object)
    out[:] = [digits[i : i + 32] for i in range(0, len(digits), 32)]
    return out


def ids_at(times_us: npt.NDArray[Any], rng: np.random.Generator) -> npt.NDArray[np.object_]:
    """Fresh ids for rows created at ``times_us`` (``datetime64[us]`` or int microseconds).

    The random bits come from ``rng``; pass an unseeded generator for ids that differ run to
    run, or a seeded one for reproducible ids.
    """
    ms = np.asarray(times_us).astype("datetime64[us]").astype(np.int64) // 1000
    n = len(ms)
    rand_a = rng.integers(0, 1 << 12, size=n, dtype=np.uint64)
    rand_b = rng.integers(0, 1 << 62, size=n, dtype=np.uint64)
    return hex_ids(ms, rand_a, rand_b)
