from __future__ import annotations

import itertools

import pytest

from leadfunnel.domain.errors import IllegalTransition, ValidationError
from leadfunnel.domain.lifecycle import (
    DEFAULT_LIFECYCLE,
    DEFAULT_MOVES,
    REASON_REQUIRED,
    Stage,
    parse_stage,
)

# The declared table, spelled out again by hand: a change to the state machine must be a
# deliberate change to this test too.
ALLOWED = {
    ("lead", "mql"),
    ("lead", "sql"),
    ("lead", "nurture"),
    ("lead", "disqualified"),
    ("mql", "sql"),
    ("mql", "nurture"),
    ("mql", "disqualified"),
    ("sql", "opportunity"),
    ("sql", "nurture"),
    ("sql", "disqualified"),
    ("opportunity", "won"),
    ("opportunity", "lost"),
    ("won", "opportunity"),
    ("lost", "opportunity"),
    ("lost", "nurture"),
    ("nurture", "mql"),
    ("nurture", "disqualified"),
    ("disqualified", "nurture"),
}
ALL_PAIRS = list(itertools.product(Stage, Stage))


def test_declared_moves_are_exactly_the_documented_table():
    declared = {(a.value, b.value) for a, targets in DEFAULT_MOVES.items() for b in targets}
    assert declared == ALLOWED


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_PAIRS if (p[0].value, p[1].value) in ALLOWED]
)
def test_allowed_move_is_accepted(current, target):
    DEFAULT_LIFECYCLE.check_move(current, target, reason="because")


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_PAIRS if (p[0].value, p[1].value) not in ALLOWED]
)
def test_refused_move_names_current_target_and_allowed(current, target):
    with pytest.raises(IllegalTransition) as caught:
        DEFAULT_LIFECYCLE.check_move(current, target, reason="because")
    message = str(caught.value)
    assert f"'{current.value}'" in message and f"'{target.value}'" in message
    allowed = sorted(b for a, b in ALLOWED if a == current.value)
    assert sorted(caught.value.allowed) == allowed
    for stage in allowed:
        assert stage in message


@pytest.mark.parametrize("target", sorted(REASON_REQUIRED))
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_lost_and_disqualified_need_a_reason(target, reason):
    current = Stage.OPPORTUNITY if target is Stage.LOST else Stage.MQL
    with pytest.raises(ValidationError, match="reason"):
        DEFAULT_LIFECYCLE.check_move(current, target, reason=reason)


def test_moving_to_the_same_stage_is_refused():
    with pytest.raises(IllegalTransition):
        DEFAULT_LIFECYCLE.check_move(Stage.MQL, Stage.MQL)


def test_parse_stage_accepts_any_case_and_names_choices_otherwise():
    assert parse_stage(" SQL ") is Stage.SQL
    with pytest.raises(
        ValidationError, match=r"unknown stage 'prospect'; expected one of: lead, mql"
    ):
        parse_stage("prospect")
