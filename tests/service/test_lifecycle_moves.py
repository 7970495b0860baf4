from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import IllegalTransition, NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.leads import get_lead
from leadfunnel.services.lifecycle import move_lead
from tests.builders import funnel_steps, submit, table_counts


def move(app, lead_id, to, reason=None):
    return move_lead(
        uow_factory=app.uow_factory,
        lead_id=lead_id,
        to=to,
        reason=reason,
        actor="rep:17",
        now=app.clock(),
    )


def test_a_move_appends_history_updates_the_stage_and_writes_the_audit_log(app, clock):
    lead_id = submit(app).lead_id
    clock.now += timedelta(hours=2)
    change = move(app, lead_id, "mql", reason="score 72")
    assert (change.from_stage, change.to_stage) == (Stage.LEAD, Stage.MQL)
    with app.uow_factory(write=False) as uow:
        history = uow.transitions.for_lead(lead_id)
        audit = uow.audit.for_entity("lead", lead_id)
        lead = uow.leads.get(lead_id)
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "lead"), ("lead", "mql")]
    assert (
        history[-1]["actor"] == "rep:17"
        and history[-1]["reason"] == "score 72"
        and history[-1]["at"] == clock.now
    )
    assert lead["stage"] == "mql" and lead["stage_entered_at"] == clock.now
    assert audit[-1]["action"] == "lead.stage_changed" and audit[-1]["data"] == {
        "from": "lead",
        "to": "mql",
        "reason": "score 72",
    }


@pytest.mark.parametrize(
    ("to", "reason", "error"),
    [
        ("won", None, IllegalTransition),
        ("lost", "price", IllegalTransition),
        ("disqualified", None, ValidationError),
        ("prospect", None, ValidationError),
        ("lead", None, IllegalTransition),
    ],
)
def test_refused_move_writes_nothing(app, to, reason, error):
    lead_id = submit(app).lead_id
    before = table_counts(app)
    with pytest.raises(error):
        move(app, lead_id, to, reason)
    assert table_counts(app) == before
    assert get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=lead_id).lead["stage"] == "lead"


def test_moving_an_unknown_lead_is_not_found(app):
    with pytest.raises(NotFound, match="lead"):
        move(app, new_id(), "mql")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(targets=st.lists(st.sampled_from([s.value for s in Stage]), max_size=12))
def test_current_stage_always_equals_the_last_transition(app, clock, targets):
    lead_id = submit(app, email=f"p{new_id().hex}@acme.example").lead_id
    for target in targets:
        clock.now += timedelta(minutes=1)
        with contextlib.suppress(IllegalTransition):
            move(app, lead_id, target, reason="r")
        with app.uow_factory(write=False) as uow:
            last = uow.transitions.last_for(lead_id)
            lead = uow.leads.get(lead_id)
        assert lead["stage"] == last["to_stage"]
        assert lead["stage_entered_at"] == last["at"]


def test_the_funnel_reads_the_transition_log(app):
    a = submit(app, email="a@x.example").lead_id
    b = submit(app, email="b@x.example").lead_id
    submit(app, email="c@x.example")
    for stage in ("mql", "sql", "opportunity", "won"):
        move(app, a, stage)
    move(app, b, "sql")  # skipped mql: still counted as having reached it
    steps = {s.stage: s for s in funnel_steps(app, app.clock())}
    assert [steps[s].reached for s in ("lead", "mql", "sql", "opportunity", "won")] == [
        3,
        2,
        2,
        1,
        1,
    ]
    assert steps["lead"].open == 1 and steps["sql"].open == 1
