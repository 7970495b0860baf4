"""Business time: deadlines and elapsed time counted only inside working hours.

A :class:`BusinessCalendar` has a time zone, working intervals per weekday (local wall-clock
times, e.g. 09:00-12:00 and 13:00-18:00 Monday to Friday) and holidays (local dates). Time is
computed by interval arithmetic, day by day over the working windows: never second by
second. Two functions, inverse to each other::

    deadline(calendar, start, duration) -> the instant `duration` of working time after start
    elapsed(calendar, start, end)       -> the working time between two instants

so that ``elapsed(c, a, deadline(c, a, d)) == d`` for every start ``a`` and duration
``d >= 0`` (a property test checks it).

Worked example: Mon-Fri 09:00-18:00 in Europe/Berlin. A lead arrives on Friday at 17:30
with a 2-hour SLA: 30 minutes count on Friday, the other 90 on Monday from 09:00, so the
deadline is Monday 10:30 Berlin time. A lead arriving on Saturday starts its clock on Monday
at 09:00.

Daylight saving: windows are wall-clock times of each local day, converted to UTC that day,
so a 09:00-18:00 day stays nine working hours on both sides of a clock change (a window
that starts or ends inside a skipped hour begins or ends when the clock reads past it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadfunnel.domain.errors import ValidationError

__all__ = ["WEEKDAYS", "BusinessCalendar", "deadline", "elapsed", "parse_calendar"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a deadline further than this is a calendar mistake, not an SLA

Window = tuple[time, time]


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    zone: ZoneInfo
    hours: Mapping[int, tuple[Window, ...]]  # weekday (0 = Monday) -> sorted, disjoint windows
    holidays: frozenset[date]

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working windows of a local date, as aware UTC instants."""
        if day in self.holidays:
            return []
        out = []
        for start, end in self.hours.get(day.weekday(), ()):
            begin = datetime.combine(day, start, self.zone).astimezone(UTC)
            finish = (datetime.combine(day + timedelta(days=1), time(0), self.zone) if end == time(0)
                      else datetime.combine(day, end, self.zone)).astimezone(UTC)  # fmt: skip
            if finish > begin:
                out.append((begin, finish))
        return out

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def _days_from(
    calendar: BusinessCalendar, moment: datetime
) -> Iterator[list[tuple[datetime, datetime]]]:
    day = calendar.local_date(moment)
    for offset in range(MAX_DAYS):
        yield calendar.windows(day + timedelta(days=offset))


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def deadline(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant when ``duration`` of working time has passed since ``start``.

    A zero duration gives ``start`` itself. Raises ``ValueError`` when the calendar has no
    room for it within :data:`MAX_DAYS` days."""
    start = _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if duration == timedelta(0):
        return start
    left = duration
    for windows in _days_from(calendar, start):
        for begin, end in windows:
            begin = max(begin, start)
            if begin >= end:
                continue
            if end - begin >= left:
                return begin + left
            left -= end - begin
    raise ValueError(
        f"calendar '{calendar.name}' has no {duration} of working time within {MAX_DAYS} days"
    )


def elapsed(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time between two instants (zero when ``end`` is not after ``start``)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    day, last = calendar.local_date(start), calendar.local_date(end)
    while start < end and day <= last:
        for begin, finish in calendar.windows(day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def _parse_time(value: Any, where: str) -> time:
    if value in ("24:00", "24:00:00"):
        return time(0)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(where, f"'{value}' is not a time of day (HH:MM)") from None


def _parse_windows(value: Any, where: str) -> tuple[Window, ...]:
    if not isinstance(value, list):
        raise ValidationError(where, 'must be a list of "HH:MM-HH:MM" windows')
    windows = []
    for i, text in enumerate(value):
        if not isinstance(text, str) or text.count("-") != 1:
            raise ValidationError(f"{where}[{i}]", f'{text!r} is not a window like "09:00-18:00"')
        start, end = (_parse_time(part.strip(), f"{where}[{i}]") for part in text.split("-"))
        if end != time(0) and end <= start:
            raise ValidationError(f"{where}[{i}]", f"'{text}' ends before it starts")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in itertools.pairwise(windows):
        if end == time(0) or start < end:
            raise ValidationError(where, "windows overlap")
    return tuple(windows)


def parse_calendar(doc: Mapping[str, Any]) -> BusinessCalendar:
    """A calendar from its document::

    name = "EMEA"
    timezone = "Europe/Berlin"
    [hours]                          # weekdays without an entry are days off
    mon = ["09:00-12:00", "13:00-18:00"]
    tue = ["09:00-18:00"]
    holidays = ["2026-12-25", "2026-12-26"]
    """
    extra = sorted(set(doc) - {"name", "timezone", "hours", "holidays"})
    if extra:
        raise ValidationError(
            extra[0], "is not a calendar setting; expected: name, timezone, hours, holidays"
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "a calendar needs a name")
    try:
        zone = ZoneInfo(str(doc.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "timezone", f"'{doc.get('timezone')}' is not a known time zone (e.g. Europe/Berlin)"
        ) from None
    hours_doc = doc.get("hours")
    if not isinstance(hours_doc, Mapping):
        raise ValidationError(
            "hours", 'must give working windows per weekday, e.g. mon = ["09:00-18:00"]'
        )
    hours = {}
    for key, value in hours_doc.items():
        if key not in WEEKDAYS:
            raise ValidationError(
                f"hours.{key}", f"is not a weekday; expected one of: {', '.join(WEEKDAYS)}"
            )
        windows = _parse_windows(value, f"hours.{key}")
        if windows:
            hours[WEEKDAYS.index(key)] = windows
    if not hours:
        raise ValidationError("hours", "the calendar has no working time at all")
    holidays = set()
    for i, value in enumerate(doc.get("holidays", [])):
        try:
            holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            raise ValidationError(
                f"holidays[{i}]", f"'{value}' is not a date (YYYY-MM-DD)"
            ) from None
    return BusinessCalendar(name.strip(), zone, hours, frozenset(holidays))
