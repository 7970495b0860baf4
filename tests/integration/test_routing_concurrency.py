"""Routing and the pool under real concurrency (threads, each with its own transaction), on
SQLite and PostgreSQL: no lead assigned twice, no rep past capacity, fair turns, one winner
per claim."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from leadfunnel.adapters.sql import tables as t
from leadfunnel.services.pool import AlreadyTaken, claim_lead, release_lead
from leadfunnel.services.routing import assign_lead
from tests.builders import submit
from tests.service.test_routing import ROUTING, activate, reps_of, seed_teams

WORKERS = 32


def route_concurrently(app, lead_ids):
    start = threading.Barrier(len(lead_ids))

    def route(lead_id):
        start.wait()
        for _ in range(50):  # a PostgreSQL serialisation failure or SQLite busy: try again
            try:
                with app.uow_factory() as uow:
                    decision = assign_lead(
                        uow=uow, lead=uow.leads.get(lead_id), now=app.clock(), actor="intake"
                    )
                    uow.commit()
                return decision
            except Exception as exc:
                if "lock" not in str(exc).lower() and "serializ" not in str(exc).lower():
                    raise
        raise AssertionError("gave up")

    with ThreadPoolExecutor(max_workers=len(lead_ids)) as pool:
        return list(pool.map(route, lead_ids))


def test_32_concurrent_routings_take_fair_turns_and_respect_capacity(any_app):
    app = any_app
    seed_teams(app, reps_per_team=4, max_open=9)
    leads = [
        submit(app, email=f"c{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(WORKERS)
    ]
    activate(app, "routing", ROUTING)  # after intake: the leads are a backlog
    decisions = route_concurrently(app, leads)
    with app.engine.connect() as conn:
        assignments = conn.execute(t.assignments.select()).mappings().all()
        owners = Counter(
            r.owner_id for r in conn.execute(t.leads.select()) if r.owner_id is not None
        )
    assert len(assignments) == WORKERS and len({a["lead_id"] for a in assignments}) == WORKERS
    assert sorted(owners.values()) == [8, 8, 8, 8]  # 32 leads, 4 reps: exact round-robin turns
    assert all(d.rep is not None for d in decisions)


def test_capacity_holds_when_the_team_fills_up_under_concurrency(any_app):
    app = any_app
    seed_teams(app, reps_per_team=2, max_open=5)
    leads = [
        submit(app, email=f"f{i}@x.example", region="East", industry="manufacturing").lead_id
        for i in range(16)
    ]
    activate(app, "routing", ROUTING)  # after intake: the leads are a backlog
    decisions = route_concurrently(app, leads)
    assert sum(d.rep is not None for d in decisions) == 10
    with app.engine.connect() as conn:
        owners = Counter(
            r.owner_id for r in conn.execute(t.leads.select()) if r.owner_id is not None
        )
    assert sorted(owners.values()) == [5, 5]


def test_two_reps_claiming_one_lead_one_wins_the_other_is_told(any_app):
    app = any_app
    seed_teams(app)
    first, second = reps_of(app)[:2]
    for round_ in range(5):
        lead_id = submit(app, email=f"p{round_}@x.example").lead_id
        start = threading.Barrier(2)

        def claim(rep, lead_id=lead_id, start=start):
            start.wait()
            try:
                claim_lead(
                    uow_factory=app.uow_factory,
                    lead_id=lead_id,
                    rep_id=rep,
                    now=app.clock(),
                    actor=str(rep),
                )
                return "won"
            except AlreadyTaken as exc:
                return exc.message

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(claim, (first, second)))
        assert outcomes.count("won") == 1
        loser = next(o for o in outcomes if o != "won")
        assert f"lead {lead_id} is not in the pool: another rep claimed it first" in loser


def test_release_needs_the_owner_and_a_reason_and_claims_respect_the_daily_limit(app):
    seed_teams(app)
    rep, other = reps_of(app)[:2]
    with app.engine.begin() as conn:
        conn.execute(
            t.rep_profiles.update()
            .where(t.rep_profiles.c.user_id == rep)
            .values(max_claims_per_day=1)
        )
    a, b = (submit(app, email=f"r{i}@x.example").lead_id for i in range(2))
    claim_lead(uow_factory=app.uow_factory, lead_id=a, rep_id=rep, now=app.clock(), actor="rep")
    with pytest.raises(Exception, match="has claimed 1 leads today, the limit is 1"):
        claim_lead(uow_factory=app.uow_factory, lead_id=b, rep_id=rep, now=app.clock(), actor="rep")
    with pytest.raises(Exception, match="only the lead's owner can release it"):
        release_lead(
            uow_factory=app.uow_factory,
            lead_id=a,
            rep_id=other,
            reason="not mine",
            now=app.clock(),
            actor="x",
        )
    with pytest.raises(Exception, match="say why"):
        release_lead(
            uow_factory=app.uow_factory,
            lead_id=a,
            rep_id=rep,
            reason="  ",
            now=app.clock(),
            actor="rep",
        )
    release_lead(
        uow_factory=app.uow_factory,
        lead_id=a,
        rep_id=rep,
        reason="wrong region",
        now=app.clock(),
        actor="rep",
    )
    with app.uow_factory(write=False) as uow:
        lead = uow.leads.get(a)
        history = uow.routing.assignments_for(a)
    assert lead["in_pool"] and lead["owner_id"] is None
    assert [h["rule"] for h in history] == ["claim", "release"] and history[-1][
        "reason"
    ] == "released to the pool: wrong region"


def test_32_concurrent_intakes_are_routed_at_once_in_fair_turns(any_app):
    app = any_app
    seed_teams(app, reps_per_team=4, max_open=100)
    activate(app, "routing", ROUTING)
    start = threading.Barrier(WORKERS)

    def intake(i):
        start.wait()
        return submit(app, email=f"i{i}@x.example", region="East", industry="manufacturing").lead_id

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        leads = list(pool.map(intake, range(WORKERS)))
    with app.engine.connect() as conn:
        rows = [r for r in conn.execute(t.leads.select()) if r.id in set(leads)]
        assignments = conn.execute(t.assignments.select()).mappings().all()
    assert all(r.owner_id is not None and not r.in_pool for r in rows)
    assert sorted(Counter(r.owner_id for r in rows).values()) == [8, 8, 8, 8]
    assert len(assignments) == WORKERS and all(a["actor"] == "test" for a in assignments)
