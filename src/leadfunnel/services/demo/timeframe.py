"""The simulated history's time frame, and time as integers.

Inside the simulator a time is an ``int64`` count of microseconds since the Unix epoch (UTC),
so arrays of them add, compare and sort at numpy speed; batches carry them as
``datetime64[us]``. The history is ``days`` whole calendar days ending the day before
``now``: with now 2026-03-02 09:30 and 730 days it runs from 2024-03-02 00:00 to
2026-03-01 24:00, so leads from the last hours are young and still open at ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["US_PER_DAY", "US_PER_HOUR", "US_PER_MINUTE", "History", "after", "as_times"]

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class History:
    now_us: int
    first_day: np.datetime64
    days: int

    @classmethod
    def ending_before(cls, now: datetime, days: int) -> History:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now_us = int(np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us").astype(np.int64))
        today = np.datetime64(now_us, "us").astype("datetime64[D]")
        return cls(now_us=now_us, first_day=today - np.timedelta64(days, "D"), days=days)

    @property
    def start_us(self) -> int:
        return int(self.first_day.astype("datetime64[us]").astype(np.int64))

    @property
    def end_us(self) -> int:
        """Midnight at the start of ``now``'s day: no lead arrives later."""
        return self.start_us + self.days * US_PER_DAY

    def dates(self) -> npt.NDArray[np.datetime64]:
        return self.first_day + np.arange(self.days)

    def months(self) -> Int64s:
        """Month of each day, 0 = January."""
        return self.dates().astype("datetime64[M]").astype(np.int64) % 12

    def weekdays(self) -> Int64s:
        """Weekday of each day, 0 = Monday (1970-01-01 was a Thursday)."""
        return (self.dates().astype(np.int64) + 3) % 7

    def year_end_break(self) -> npt.NDArray[np.bool_]:
        """22 December to 1 January: offices empty, few leads, no spend on events."""
        dates = self.dates()
        day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        month = self.months()
        quiet: npt.NDArray[np.bool_] = ((month == 11) & (day >= 22)) | ((month == 0) & (day <= 1))
        return quiet


def after(
    start: Int64s,
    median_days: float | npt.NDArray[np.float64],
    sigma: float,
    rng: np.random.Generator,
) -> Int64s:
    """``start`` plus a lognormal wait with that median (days); at least one minute later."""
    wait = median_days * US_PER_DAY * np.exp(sigma * rng.standard_normal(len(start)))
    return start + np.maximum(wait, US_PER_MINUTE).astype(np.int64)


def as_times(us: npt.NDArray[Any]) -> npt.NDArray[np.datetime64]:
    """Integer microseconds as ``datetime64[us]`` (the batch format for times)."""
    return np.asarray(us, dtype=np.int64).astype("datetime64[us]")
