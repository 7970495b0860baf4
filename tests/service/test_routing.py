"""Routing on a real store: rule sets as versions, backlog routing with reasons, SLA clocks."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from leadfunnel.adapters.sql import tables as t
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.automation import after_leads_changed
from leadfunnel.services.leads import get_lead
from leadfunnel.services.reps import deactivate_rep, list_reps, set_rep_profile
from leadfunnel.services.routing import (
    activate_rule_set,
    import_rule_set,
    put_calendar,
    route_backlog,
    routing_history,
    sla_clock,
)
from leadfunnel.services.scoring import activate_model
from leadfunnel.services.scoring_models import import_model
from leadfunnel.services.sla import check_sla, log_activity
from leadfunnel.services.sla_report import sla_report
from leadfunnel.services.worker import run_due_jobs, schedule_sweeps
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
    east = [
        submit(app, email=f"e{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(6)
    ]
    west = submit(app, email="w@x.example", region="West").lead_id
    activate(app, "routing", ROUTING)  # after the leads came in: they are a backlog
    activate(app, "sla", SLA)
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
    first, second = (
        submit(app, email=f"e{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(2)
    )
    activate(app, "routing", ROUTING)
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


def reps_of(app):
    with app.engine.connect() as conn:
        return [row.id for row in conn.execute(t.users.select().where(t.users.c.role == "rep"))]


def owner_of(app, lead_id):
    with app.uow_factory(write=False) as uow:
        return uow.leads.get(lead_id)["owner_id"]


def sla_setup(app, max_reclaims=1):
    seed_teams(app)
    with app.engine.begin() as conn:  # East's manager: its first rep
        east = conn.execute(t.teams.select().where(t.teams.c.name == "East")).mappings().one()
        manager = (
            conn.execute(
                t.users.select().where(t.users.c.team_id == east["id"]).order_by(t.users.c.id)
            )
            .mappings()
            .first()
        )
        conn.execute(
            t.teams.update().where(t.teams.c.id == east["id"]).values(manager_id=manager["id"])
        )
    put_calendar(uow_factory=app.uow_factory, document=ALWAYS, now=app.clock())
    activate(app, "routing", ROUTING)
    activate(
        app,
        "sla",
        {
            "policy": [
                {
                    "name": "all leads",
                    "respond_within": "2h",
                    "calendar": "24x7",
                    "max_reclaims": max_reclaims,
                }
            ]
        },
    )
    return manager["id"]


def test_the_owners_first_response_meets_the_sla_and_records_the_response_time(any_app):
    app = any_app
    sla_setup(app)
    lead_id = submit(app, email="e@x.example", region="East", industry="manufacturing").lead_id
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    owner = owner_of(app, lead_id)
    with pytest.raises(NotFound, match="user"):
        log_activity(uow_factory=app.uow_factory, lead_id=lead_id, user_id=new_id(), kind="call", at=app.clock(),
                     subject=None, actor="t", now=app.clock())  # fmt: skip
    colleague = next(rep for rep in reps_of(app) if rep != owner)
    early = log_activity(uow_factory=app.uow_factory, lead_id=lead_id, user_id=colleague, kind="call",
                         at=app.clock() + timedelta(minutes=5), subject=None, actor="t", now=app.clock() + timedelta(minutes=5))  # fmt: skip
    assert (
        early["status"] == "due" and early["responded_at"] is None
    )  # not the owner: the clock runs on
    clock = log_activity(uow_factory=app.uow_factory, lead_id=lead_id, user_id=owner, kind="call",
                         at=app.clock() + timedelta(minutes=42), subject="intro", actor="t", now=app.clock() + timedelta(hours=1))  # fmt: skip
    assert (clock["status"], clock["response_seconds"]) == ("met", 42 * 60)
    report = run_due_jobs(
        uow_factory=app.uow_factory, now=app.clock() + timedelta(hours=3), worker="w1"
    )
    assert report.done == 1 and owner_of(app, lead_id) == owner  # the check finds the clock met
    with pytest.raises(ValidationError, match="'smoke signal' is not one of"):
        log_activity(uow_factory=app.uow_factory, lead_id=lead_id, user_id=owner, kind="smoke signal",
                     at=app.clock(), subject=None, actor="t", now=app.clock())  # fmt: skip


def test_a_breach_notifies_the_manager_reclaims_and_reroutes_to_someone_else(any_app):
    app = any_app
    manager = sla_setup(app, max_reclaims=1)
    lead_id = submit(app, email="e@x.example", region="East", industry="manufacturing").lead_id
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    first = owner_of(app, lead_id)
    assert (
        run_due_jobs(
            uow_factory=app.uow_factory, now=app.clock() + timedelta(hours=1), worker="w1"
        ).claimed
        == 0
    )
    later = app.clock() + timedelta(hours=2, seconds=1)
    report = run_due_jobs(uow_factory=app.uow_factory, now=later, worker="w1")
    second = owner_of(app, lead_id)
    assert report.outcomes == {
        f"breached; reclaimed and re-routed to rep {second}": 1
    } and second not in (None, first)
    history = routing_history(uow_factory=app.uow_factory, lead_id=lead_id)
    assert [h["rule"] for h in history] == ["East manufacturing", "sla", "East manufacturing"]
    timeline = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=lead_id).timeline
    assert [e["rule"] for e in timeline if e["type"] == "assignment"] == [
        "East manufacturing",
        "sla",
        "East manufacturing",
    ]
    assert history[1]["reason"].startswith(f"SLA 'all leads' breached by rep {first}")
    with app.uow_factory(write=False) as uow:
        (note,) = uow.jobs.notifications(manager)
        clock = uow.routing.sla_for(lead_id)
    assert note["kind"] == "sla.breached" and (
        clock["status"],
        clock["reclaims"],
        clock["owner_id"],
    ) == ("due", 1, second)
    # The second breach exceeds max_reclaims = 1: the lead waits in the pool.
    final = run_due_jobs(
        uow_factory=app.uow_factory, now=later + timedelta(hours=2, seconds=1), worker="w1"
    )
    assert list(final.outcomes) == [
        "breached; reclaimed, max reclaims (1) reached: waits in the pool"
    ]
    assert owner_of(app, lead_id) is None


def test_a_job_claimed_by_a_worker_that_died_runs_once_after_its_lease(app):
    sla_setup(app)
    lead_id = submit(app, email="e@x.example", region="East", industry="manufacturing").lead_id
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    due = app.clock() + timedelta(hours=2, seconds=1)
    with app.uow_factory() as uow:  # a worker claims the job, then dies before running it
        assert len(uow.jobs.claim(due, due + timedelta(minutes=5), 10)) == 1
        uow.commit()
    assert (
        run_due_jobs(
            uow_factory=app.uow_factory, now=due + timedelta(minutes=1), worker="w2"
        ).claimed
        == 0
    )
    retried = run_due_jobs(uow_factory=app.uow_factory, now=due + timedelta(minutes=6), worker="w2")
    assert (retried.claimed, retried.done) == (1, 1)
    assert (
        run_due_jobs(
            uow_factory=app.uow_factory, now=due + timedelta(minutes=7), worker="w3"
        ).claimed
        == 0
    )
    with (
        app.uow_factory() as uow
    ):  # the same check run again (a worker died after doing it) changes nothing
        original_due = app.clock() + timedelta(hours=2)
        outcome = check_sla(uow=uow, lead_id=lead_id, due_at=original_due, now=due, actor="w3")
    assert outcome.startswith("nothing to do")
    assert (
        sum(
            1
            for h in routing_history(uow_factory=app.uow_factory, lead_id=lead_id)
            if h["rule"] == "sla"
        )
        == 1
    )


def test_owned_leads_without_activity_return_to_the_pool_after_the_stagnation_days(app):
    seed_teams(app)
    put_calendar(uow_factory=app.uow_factory, document=ALWAYS, now=app.clock())
    activate(app, "routing", ROUTING)
    with pytest.raises(ValidationError, match="stagnation_days: must be a number of days above 0"):
        import_rule_set(
            uow_factory=app.uow_factory,
            kind="sla",
            document={**SLA, "stagnation_days": -3},
            actor="o",
            now=app.clock(),
        )
    activate(app, "sla", {**SLA, "stagnation_days": 7})
    quiet, busy = (
        submit(app, email=f"s{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(2)
    )
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    owner = owner_of(app, busy)
    log_activity(uow_factory=app.uow_factory, lead_id=busy, user_id=owner, kind="call", at=app.clock() + timedelta(days=5),
                 subject=None, actor="t", now=app.clock() + timedelta(days=5))  # fmt: skip
    assert schedule_sweeps(uow_factory=app.uow_factory, now=app.clock())
    assert not schedule_sweeps(
        uow_factory=app.uow_factory, now=app.clock()
    )  # one is pending already
    report = run_due_jobs(
        uow_factory=app.uow_factory, now=app.clock() + timedelta(days=8), worker="w"
    )
    assert "stagnation sweep: 1 leads returned to the pool" in report.outcomes
    assert owner_of(app, quiet) is None and owner_of(app, busy) == owner
    assert (
        routing_history(uow_factory=app.uow_factory, lead_id=quiet)[-1]["reason"]
        == "no activity for 7 days: returned to the shared pool"
    )
    with app.uow_factory(write=False) as uow:
        assert [j["kind"] for j in uow.jobs.pending("stagnation.sweep")] == [
            "stagnation.sweep"
        ]  # the next one


def test_deactivating_a_rep_sends_their_open_leads_where_asked(any_app):
    app = any_app
    seed_teams(app)
    activate(app, "routing", ROUTING)
    leads = [
        submit(app, email=f"d{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(6)
    ]
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    east = sorted({owner_of(app, lead) for lead in leads})
    leaving, other, third = east
    with pytest.raises(ValidationError, match="give a rep exactly when"):
        deactivate_rep(
            uow_factory=app.uow_factory,
            user_id=leaving,
            leads_to="rep",
            actor="admin",
            now=app.clock(),
        )
    moved = deactivate_rep(
        uow_factory=app.uow_factory,
        user_id=leaving,
        leads_to="rep",
        to_rep=other,
        actor="admin",
        now=app.clock(),
    )
    assert moved == {"pool": 0, "rerouted": 0, "to_rep": 2}
    rerouted = deactivate_rep(
        uow_factory=app.uow_factory,
        user_id=other,
        leads_to="reroute",
        actor="admin",
        now=app.clock(),
    )
    assert rerouted == {"pool": 0, "rerouted": 4, "to_rep": 0}
    assert {owner_of(app, lead) for lead in leads} == {third}
    pooled = deactivate_rep(
        uow_factory=app.uow_factory, user_id=third, leads_to="pool", actor="admin", now=app.clock()
    )
    assert pooled == {"pool": 6, "rerouted": 0, "to_rep": 0} and {
        owner_of(app, lead) for lead in leads
    } == {None}
    with pytest.raises(ValidationError, match="already inactive"):
        deactivate_rep(
            uow_factory=app.uow_factory,
            user_id=third,
            leads_to="pool",
            actor="admin",
            now=app.clock(),
        )


def test_rep_settings_are_checked_and_kept_between_changes(app):
    seed_teams(app)
    rep = reps_of(app)[0]
    set_rep_profile(
        uow_factory=app.uow_factory,
        user_id=rep,
        changes={"weight": 3, "skills": ("german",)},
        now=app.clock(),
    )
    row = set_rep_profile(
        uow_factory=app.uow_factory, user_id=rep, changes={"max_open": 20}, now=app.clock()
    )
    assert (row["weight"], row["skills"], row["max_open"]) == (3, ["german"], 20)
    for changes, words in (({"weight": 0}, "weight: must be above 0"), ({"calendar": "Mars"}, "unknown calendar 'Mars'"),
                           ({"colour": "red"}, "colour: is not a rep setting")):  # fmt: skip
        with pytest.raises(ValidationError, match=words):
            set_rep_profile(
                uow_factory=app.uow_factory, user_id=rep, changes=changes, now=app.clock()
            )
    listed = {r["id"]: r for r in list_reps(uow_factory=app.uow_factory)}
    assert listed[rep]["max_open"] == 20 and listed[rep]["open_leads"] == 0


def test_the_sla_report_counts_met_breached_and_reclaimed_clocks_per_rep_and_policy(app):
    sla_setup(app, max_reclaims=1)
    met, late = (
        submit(app, email=f"m{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(2)
    )
    route_backlog(uow_factory=app.uow_factory, now=app.clock(), actor="router")
    quick, slow = owner_of(app, met), owner_of(app, late)
    log_activity(uow_factory=app.uow_factory, lead_id=met, user_id=quick, kind="email", at=app.clock() + timedelta(minutes=30),
                 subject=None, actor="t", now=app.clock() + timedelta(minutes=30))  # fmt: skip
    run_due_jobs(
        uow_factory=app.uow_factory, now=app.clock() + timedelta(hours=2, seconds=1), worker="w"
    )
    (overall,) = sla_report(uow_factory=app.uow_factory)
    assert {k: overall[k] for k in ("clocks", "met", "breached", "due", "within_sla", "reclaims")} == {
        "clocks": 3, "met": 1, "breached": 1, "due": 1, "within_sla": 0.5, "reclaims": 1}  # fmt: skip
    assert overall["median_response_minutes"] == 30
    by_rep = {row["group"]: row for row in sla_report(uow_factory=app.uow_factory, by="owner")}
    assert (
        by_rep[str(slow)]["breached"],
        by_rep[str(slow)]["reclaims"],
        by_rep[str(quick)]["met"],
    ) == (1, 1, 1)
    with pytest.raises(ValidationError, match="cannot group by 'mood'"):
        sla_report(uow_factory=app.uow_factory, by="mood")


def test_intake_scores_qualifies_then_routes_new_leads_with_their_priority(app):
    seed_teams(app)
    put_calendar(uow_factory=app.uow_factory, document=ALWAYS, now=app.clock())
    import_model(uow_factory=app.uow_factory, actor="ops", now=app.clock(), document={
        "name": "fit", "fit": [{"name": "big", "points": 80, "when": {"field": "company_size", "op": "ge", "value": 1000}}],
        "qualify": [{"name": "MQL", "to": "mql", "when": {"field": "score", "op": "ge", "value": 60}}]})  # fmt: skip
    activate_model(uow_factory=app.uow_factory, name="fit", version=1, actor="ops", now=app.clock())
    activate(app, "routing", ROUTING)
    activate(app, "sla", {"policy": [
        {"name": "A", "when": {"field": "priority", "op": "eq", "value": "A"}, "respond_within": "5m", "calendar": "24x7"},
        {"name": "rest", "respond_within": "1d", "calendar": "24x7"}]})  # fmt: skip
    big = submit(
        app, email="big@x.example", region="East", industry="manufacturing", company_size=5000
    ).lead_id
    small = submit(
        app, email="small@x.example", region="East", industry="manufacturing", company_size=10
    ).lead_id
    with app.uow_factory(write=False) as uow:  # intake scored, qualified and routed them
        history = uow.transitions.for_lead(big)
    assert [h["to_stage"] for h in history] == ["lead", "mql"] and history[-1][
        "reason"
    ] == "scoring model fit v1: MQL"
    assert all(owner_of(app, lead) is not None for lead in (big, small))
    with app.uow_factory() as uow:  # nothing left to do for them
        again = after_leads_changed(uow=uow, changed=[big, small], now=app.clock(), actor="intake")
    assert (again.routed, dict(again.scoring.moved), again.scoring.scored) == (0, {}, 2)
    with app.uow_factory(write=False) as uow:
        lead = uow.leads.get(big)
        clocks = {lead_id: uow.routing.sla_for(lead_id)["policy"] for lead_id in (big, small)}
    assert (lead["stage"], lead["score"], lead["in_pool"]) == ("mql", 80, False)
    assert clocks == {big: "A", small: "rest"}


def test_imported_touchpoints_rescore_and_imported_calls_stop_the_clock(app, clock, tmp_path):
    from tests.service.test_imports import csv_file, run

    seed_teams(app)
    put_calendar(uow_factory=app.uow_factory, document=ALWAYS, now=app.clock())
    activate(app, "routing", ROUTING)
    activate(app, "sla", SLA)
    import_model(uow_factory=app.uow_factory, actor="ops", now=app.clock(), document={
        "name": "b", "behaviour": [{"name": "demo", "points": 70, "when": {"field": "kind", "op": "eq", "value": "demo_request"}}],
        "qualify": [{"name": "MQL", "to": "mql", "when": {"field": "score", "op": "ge", "value": 60}}]})  # fmt: skip
    activate_model(uow_factory=app.uow_factory, name="b", version=1, actor="ops", now=app.clock())
    lead_id = submit(app, email="t@x.example", region="East", industry="manufacturing").lead_id
    owner = owner_of(app, lead_id)  # routed at intake
    assert owner is not None
    at = (app.clock() + timedelta(minutes=20)).isoformat()
    clock.now += timedelta(hours=1)  # the import runs later than what it records
    run(
        app,
        csv_file(tmp_path, "t.csv", ("email", "kind", "at"), ("t@x.example", "demo_request", at)),
        kind="touchpoints",
    )
    with app.uow_factory(write=False) as uow:
        lead = uow.leads.get(lead_id)
        rep_email = uow.records.select_in("users", "id", [owner])[0]["email"]
    assert (lead["score"], lead["stage"]) == (70, "mql")
    run(
        app,
        csv_file(
            tmp_path,
            "a.csv",
            ("email", "kind", "at", "user"),
            ("t@x.example", "call", at, rep_email),
        ),
        kind="activities",
    )
    clock = sla_clock(uow_factory=app.uow_factory, lead_id=lead_id)
    assert (clock["status"], clock["response_seconds"]) == ("met", 20 * 60)


def test_the_embedded_worker_runs_due_checks_in_a_background_thread(app, clock):
    from leadfunnel.entrypoints.background import EmbeddedWorker

    sla_setup(app, max_reclaims=0)
    lead_id = submit(app, email="bg@x.example", region="East", industry="manufacturing").lead_id
    assert owner_of(app, lead_id) is not None  # routed at intake, its clock running
    clock.now += timedelta(hours=3)
    worker = EmbeddedWorker(app, interval=0.05).start()
    try:
        for _ in range(200):
            if owner_of(app, lead_id) is None:
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
    assert (
        owner_of(app, lead_id) is None and worker.done >= 1
    )  # breached, reclaimed, waits in the pool
    assert not worker._thread.is_alive()
