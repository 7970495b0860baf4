"""First-response SLA policies: selection, deadlines in business time, status."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.business_time import parse_calendar
from leadfunnel.rules.sla import parse_duration, parse_policies, policy_for, sla_status

BERLIN = ZoneInfo("Europe/Berlin")
EMEA = parse_calendar({"name": "EMEA", "timezone": "Europe/Berlin",
                       "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})  # fmt: skip
DOC = {"policy": [
    {"name": "A leads", "when": {"field": "priority", "op": "eq", "value": "A"}, "respond_within": "5m", "calendar": "EMEA"},
    {"name": "B leads", "when": {"field": "priority", "op": "eq", "value": "B"}, "respond_within": "2h", "calendar": "EMEA"},
    {"name": "everyone else", "respond_within": "24h", "max_reclaims": 0},
]}  # fmt: skip
POLICIES = parse_policies(DOC, calendars={"EMEA": EMEA})


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN)


def test_worked_example_friday_evening_a_lead():
    policy = policy_for({"priority": "A"}, POLICIES)
    assigned = berlin(2026, 3, 6, 17, 58)
    status = sla_status(policy, assigned, berlin(2026, 3, 9, 9, 2), now=berlin(2026, 3, 9, 12, 0))
    assert (status.state, status.due_at, status.response_time) == (
        "met",
        berlin(2026, 3, 9, 9, 3),
        timedelta(minutes=4),
    )


def test_status_is_due_then_breached_without_a_response_and_breached_when_late():
    policy = policy_for({"priority": "B"}, POLICIES)
    start = berlin(2026, 3, 9, 10, 0)
    assert sla_status(policy, start, None, now=berlin(2026, 3, 9, 11, 59)).state == "due"
    assert sla_status(policy, start, None, now=berlin(2026, 3, 9, 12, 1)).state == "breached"
    late = sla_status(policy, start, berlin(2026, 3, 9, 12, 30), now=berlin(2026, 3, 9, 13, 0))
    assert (late.state, late.response_time) == ("breached", timedelta(hours=2, minutes=30))


def test_a_policy_without_a_calendar_runs_round_the_clock_and_the_first_match_wins():
    policy = policy_for({"priority": "C"}, POLICIES)
    assert policy.name == "everyone else" and policy.max_reclaims == 0
    assert policy.due(berlin(2026, 3, 7, 23, 0)) == berlin(2026, 3, 8, 23, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5m", timedelta(minutes=5)), ("1.5h", timedelta(minutes=90)), (" 2d ", timedelta(days=2))],
)
def test_durations(text, expected):
    assert parse_duration(text, "x") == expected


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        ({"name": "x", "respond_within": "0m"}, "policy[0] 'x'.respond_within", "longer than zero"),
        ({"name": "x", "respond_within": "-5m"}, "policy[0] 'x'.respond_within", "not a duration"),
        ({"name": "x", "respond_within": "soon"}, "policy[0] 'x'.respond_within", "not a duration"),
        ({"name": "x", "respond_within": "5m", "calendar": "APAC"}, "policy[0] 'x'.calendar", "unknown calendar 'APAC'"),
        ({"name": "x", "respond_within": "5m", "max_reclaims": -1}, "policy[0] 'x'.max_reclaims", "0 or more"),
        ({"name": "x", "respond_within": "5m", "when": {"field": "grade", "op": "gt", "value": 1}}, "policy[0] 'x'.when.op", "does not apply"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused_naming_the_field(policy, field, words):
    with pytest.raises(ValidationError) as caught:
        parse_policies({"policy": [policy]}, calendars={"EMEA": EMEA})
    assert caught.value.field == field and words in caught.value.reason
