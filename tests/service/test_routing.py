"""Routing on a real store: rule sets as versions, backlog routing with reasons, SLA clocks."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from leadfunnel.adapters.sql import tables as t
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.routing import (
    activate_rule_set,
    import_rule_set,
    put_calendar,
    route_backlog,
    routing_history,
    sla_clock,
)
from tests.builders import submit

ROUTING = {"rule": [
    {"name": "East manufacturing", "team": "East",
     "when": {"all": [{"field": "region", "op": "eq", "value": "East"}, {"field": "industry", "op": "eq", "value": "manufacturing"}]}},
    {"name": "everything else", "team": "West", "strategy": "load_balanced"},
]}  # fmt: skip
SLA = {"policy": [{"name": "all leads", "respond_within": "2h", "calendar": "24x7"}]}
ALWAYS = {
    "name": "24x7",
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}


def seed_teams(app, reps_per_team=3, **profile):
    now = app.clock()
    teams = {name: new_id() for name in ("East", "West")}
    reps = {}
    with app.engine.begin() as conn:
        for name, team_id in teams.items():
            conn.execute(
                t.teams.insert().values(id=team_id, name=name, region=name, created_at=now)
            )
            for i in range(reps_per_team):
                rep_id = new_id()
                reps[str(rep_id)] = name
                conn.execute(t.users.insert().values(id=rep_id, email=f"{name.lower()}{i}@corp.example", name=f"{name} rep {i}",
                                                     role="rep", team_id=team_id, timezone="UTC", active=True, created_at=now))  # fmt: skip
                conn.execute(t.rep_profiles.insert().values(user_id=rep_id, weight=1, seniority=1, max_open=profile.get("max_open"),
                                                            skills=[], product_lines=[], away=[], updated_at=now))  # fmt: skip
    return reps


def activate(app, kind, doc):
    stored = import_rule_set(
        uow_factory=app.uow_factory, kind=kind, document=doc, actor="ops", now=app.clock()
    )
    return activate_rule_set(
        uow_factory=app.uow_factory, kind=kind, version=stored.version, actor="ops", now=app.clock()
    )


def test_backlog_routing_takes_turns_states_reasons_and_starts_sla_clocks(any_app):
    app = any_app
    reps = seed_teams(app)
    put_calendar(uow_factory=app.uow_factory, document=ALWAYS, now=app.clock())
    activate(app, "routing", ROUTING)
    activate(app, "sla", SLA)
    east = [
        submit(app, email=f"e{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(6)
    ]
    west = submit(app, email="w@x.example", region="West").lead_id
    decisions = route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    assert len(decisions) == 7
    picks = Counter(d.rep for d in decisions if d.team == "East")
    assert sorted(picks.values()) == [2, 2, 2] and {reps[r] for r in picks} == {"East"}

    (assignment,) = routing_history(uow_factory=app.uow_factory, lead_id=east[0])
    assert assignment["rule"] == "East manufacturing" and assignment["to_owner_id"] is not None
    assert assignment["reason"].startswith(
        "rule 1 'East manufacturing' -> team East, round_robin -> rep "
    )
    clock = sla_clock(uow_factory=app.uow_factory, lead_id=west)
    assert (clock["policy"], clock["status"], clock["due_at"] - clock["started_at"]) == (
        "all leads",
        "due",
        timedelta(hours=2),
    )
    assert (
        route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router") == []
    )  # nothing left


def test_a_full_team_leaves_leads_waiting_in_the_pool(app):
    seed_teams(app, reps_per_team=1, max_open=1)
    activate(app, "routing", ROUTING)
    first, second = (
        submit(app, email=f"e{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(2)
    )
    assert len(route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")) == 1
    assert routing_history(uow_factory=app.uow_factory, lead_id=second) == []
    with app.uow_factory(write=False) as uow:
        assert uow.leads.get(second)["in_pool"] and not uow.leads.get(first)["in_pool"]


def test_rule_sets_are_validated_against_teams_and_calendars(app):
    seed_teams(app)
    with pytest.raises(ValidationError, match="unknown team 'North'"):
        import_rule_set(uow_factory=app.uow_factory, kind="routing", actor="ops", now=app.clock(),
                        document={"rule": [{"name": "n", "team": "North"}]})  # fmt: skip
    with pytest.raises(ValidationError, match="unknown calendar '24x7'"):
        import_rule_set(
            uow_factory=app.uow_factory, kind="sla", document=SLA, actor="ops", now=app.clock()
        )
    with pytest.raises(ValidationError, match="no routing rules are active"):
        submit(app, email="z@x.example")
        route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    with pytest.raises(NotFound):
        activate_rule_set(
            uow_factory=app.uow_factory, kind="routing", version=7, actor="ops", now=app.clock()
        )
