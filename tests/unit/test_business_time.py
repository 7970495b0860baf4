"""Business time: deadlines and elapsed working time are inverse, across nights, weekends,
holidays and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.business_time import deadline, elapsed, parse_calendar

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = parse_calendar(
    {"name": "EMEA", "timezone": "Europe/Berlin", "hours": WEEK, "holidays": ["2026-12-25"]}
)
SPLIT = parse_calendar({"name": "split", "timezone": "Asia/Shanghai",
                        "hours": {"mon": ["09:00-12:00", "13:30-18:00"], "sat": ["10:00-14:00"], "sun": ["20:00-24:00"]}})  # fmt: skip


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN)


def test_worked_example_friday_evening_rolls_to_monday():
    assert deadline(OFFICE, berlin(2026, 3, 6, 17, 30), timedelta(hours=2)) == berlin(
        2026, 3, 9, 10, 30
    )
    assert deadline(OFFICE, berlin(2026, 3, 7, 11, 0), timedelta(minutes=5)) == berlin(
        2026, 3, 9, 9, 5
    )


def test_holidays_and_night_are_not_working_time():
    start = berlin(2026, 12, 24, 17, 0)  # Thursday; Friday the 25th is a holiday
    assert deadline(OFFICE, start, timedelta(hours=2)) == berlin(2026, 12, 28, 10, 0)
    assert elapsed(OFFICE, start, berlin(2026, 12, 28, 10, 0)) == timedelta(hours=2)
    assert elapsed(OFFICE, berlin(2026, 3, 9, 20, 0), berlin(2026, 3, 10, 8, 0)) == timedelta(0)


def test_a_working_day_keeps_its_hours_across_a_clock_change():
    # Europe/Berlin springs forward on 2026-03-29 (Sunday) and falls back on 2026-10-25.
    assert elapsed(OFFICE, berlin(2026, 3, 27, 0, 0), berlin(2026, 3, 31, 0, 0)) == timedelta(
        hours=18
    )
    monday = berlin(2026, 3, 30, 9, 0)
    assert deadline(OFFICE, monday, timedelta(hours=9)) == berlin(2026, 3, 30, 18, 0)
    assert deadline(OFFICE, monday, timedelta(hours=9)).astimezone(UTC).hour == 16  # CEST


def test_zero_duration_is_the_start_and_negative_spans_are_zero():
    start = berlin(2026, 3, 7, 11, 0)
    assert deadline(OFFICE, start, timedelta(0)) == start
    assert elapsed(OFFICE, start, start - timedelta(days=3)) == timedelta(0)
    with pytest.raises(ValueError, match="negative"):
        deadline(OFFICE, start, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        elapsed(OFFICE, datetime(2026, 3, 7), start)


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from([OFFICE, SPLIT]), start=moments, duration=durations)
def test_elapsed_undoes_deadline(calendar, start, duration):
    due = deadline(calendar, start, duration)
    assert due >= start
    assert elapsed(calendar, start, due) == duration


@settings(max_examples=200, deadline=None)
@given(calendar=st.sampled_from([OFFICE, SPLIT]), a=moments, b=moments, c=moments)
def test_elapsed_adds_up_over_consecutive_spans(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert elapsed(calendar, a, b) + elapsed(calendar, b, c) == elapsed(calendar, a, c)
    assert elapsed(calendar, a, c) <= c - a


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (
            {"name": "x", "timezone": "Mars/Olympus", "hours": WEEK},
            "timezone",
            "not a known time zone",
        ),
        ({"name": "x", "hours": {}}, "hours", "no working time at all"),
        ({"name": "x", "hours": {"mon": []}}, "hours", "no working time at all"),
        ({"name": "x", "hours": {"funday": ["09:00-18:00"]}}, "hours.funday", "not a weekday"),
        ({"name": "x", "hours": {"mon": ["18:00-09:00"]}}, "hours.mon[0]", "ends before it starts"),
        (
            {"name": "x", "hours": {"mon": ["09:00-13:00", "12:00-18:00"]}},
            "hours.mon",
            "windows overlap",
        ),
        ({"name": "x", "hours": {"mon": ["9am-5pm"]}}, "hours.mon[0]", "not a time of day"),
        ({"name": "x", "hours": WEEK, "holidays": ["someday"]}, "holidays[0]", "not a date"),
        ({"hours": WEEK}, "name", "needs a name"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(doc, field, words):
    with pytest.raises(ValidationError) as caught:
        parse_calendar(doc)
    assert caught.value.field == field and words in caught.value.reason
