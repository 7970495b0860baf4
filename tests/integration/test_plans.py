"""Compiled plans: a question asked again runs its stored SQL with the new ``now`` and gets
what compiling it anew gives; plans are bounded and forgotten when the store is rebuilt."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from typing import Any

import ibis
import pytest

from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.adapters.warehouse.plans import STAND_IN, Plans
from leadfunnel.analytics.drill import DrillSpec, Outcome
from leadfunnel.analytics.funnel_oracle import oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from tests.histories import as_stored, write_histories
from tests.integration.test_funnel_engine import NOW, _walks

# Windows make the open counts depend on ``now``: a wrong ``now`` in a plan shows.
WINDOWED = [
    funnel_spec(window="30d", breakdown="channel"),
    funnel_spec(steps=["lead", "opportunity"], step_windows=["30d"], cohort="month"),
    funnel_spec(steps=["mql", "sql", "won"], mode="strict", window="120d"),
]


def test_a_plan_asked_at_another_now_answers_as_a_fresh_compile_and_the_oracle(app):
    leads = _walks(random.Random(3))
    write_histories(app, leads)
    stored = [as_stored(lead) for lead in leads]
    engine = analytics_engine(app.engine)
    moments = [NOW - timedelta(days=200), NOW - timedelta(days=20), NOW]
    for spec in WINDOWED:
        answers = [engine.funnel(spec, now=at).rows for at in moments]
        for at, rows in zip(moments, answers, strict=True):
            assert rows == oracle_funnel(stored, spec, now=at).rows, (spec, at)
        # Open counts differ across the moments, so the plan did take each ``now``.
        assert len({tuple(r.open for r in rows) for rows in answers}) > 1, spec
    assert engine.plans.misses == len(WINDOWED)
    assert engine.plans.hits == 2 * len(WINDOWED)


def _steady(stats: Any) -> Any:
    """Statistics with means to 9 places: DuckDB adds floats in no fixed order across threads."""
    if isinstance(stats, dict):
        return {key: _steady(value) for key, value in stats.items()}
    if isinstance(stats, list):
        return [_steady(value) for value in stats]
    mean = None if stats.mean_days is None else round(stats.mean_days, 9)
    return dataclasses.replace(stats, mean_days=mean)


def test_time_questions_and_drills_from_plans_equal_compiling_them_anew(app):
    write_histories(app, _walks(random.Random(4)))
    planned, fresh = analytics_engine(app.engine), analytics_engine(app.engine)
    spec = funnel_spec(window="30d", breakdown="channel")
    cell = DrillSpec(spec, step=1, outcome=Outcome.OPEN)
    totals = []
    for at in (NOW - timedelta(days=100), NOW):
        fresh.plans.clear()
        assert _steady(planned.stage_times(now=at)) == _steady(fresh.stage_times(now=at))
        fresh.plans.clear()
        by = planned.step_times_by(spec, now=at)
        assert _steady(by) == _steady(fresh.step_times_by(spec, now=at)) and by
        fresh.plans.clear()
        first = planned.drill(cell, now=at, limit=5, offset=0)
        assert first == fresh.drill(cell, now=at, limit=5, offset=0)
        totals.append(first[1])
    assert planned.plans.hits >= 4 and max(totals) > 0


def test_plans_are_bounded_and_forgotten_when_the_store_is_rebuilt(app):
    write_histories(app, _walks(random.Random(5))[:50])
    engine = analytics_engine(app.engine)
    engine.plans.capacity = 3
    for days in (10, 20, 30, 40):
        engine.funnel(funnel_spec(window=f"{days}d"), now=NOW)
    assert len(engine.plans) == 3
    engine.funnel(funnel_spec(window="10d"), now=NOW)  # the oldest was dropped
    assert engine.plans.misses == 5
    assert engine.store.path.exists()
    engine.store.path.unlink()  # a rebuilt store: the next sync is a full one
    engine.funnel(funnel_spec(window="40d"), now=NOW)
    assert engine.plans.misses == 6 and len(engine.plans) == 1


def test_a_plan_whose_now_cannot_be_a_parameter_is_refused():
    plans = Plans()
    table = ibis.table({"at": "timestamp"}, name="t")
    # A date of ``now`` spells the stand-in without the timestamp literal.
    with pytest.raises(RuntimeError, match="cannot parameterise now"):
        plans.sql("dated", lambda now: table.filter(table.at.date() < ibis.literal(now.date())))
    sql = plans.sql("timed", lambda now: table.filter(table.at < ibis.literal(now)))
    assert "$now" in sql and str(STAND_IN.year) not in sql
    # Text that happens to hold the stand-in's year is no stand-in.
    named = ibis.table({"at": "timestamp", "campaign": "string"}, name="t")
    sql = plans.sql(
        "named",
        lambda now: named.filter((named.at < ibis.literal(now)) & (named.campaign == "Sale 2999")),
    )
    assert "$now" in sql and "'Sale 2999'" in sql


def test_every_creation_range_shares_one_plan_and_answers_as_the_oracle(app):
    leads = _walks(random.Random(6))
    write_histories(app, leads)
    stored = [as_stored(lead) for lead in leads]
    engine = analytics_engine(app.engine)
    start = NOW - timedelta(days=330)
    ranges = [(start, start + timedelta(days=60)), (start + timedelta(days=100), NOW)]
    counts = set()
    for first, last in ranges:
        spec = funnel_spec(
            breakdown="channel", created_from=first.date(), created_to=last.date()
        )
        rows = engine.funnel(spec, now=NOW).rows
        assert rows == oracle_funnel(stored, spec, now=NOW).rows, spec
        counts.add(sum(r.reached for r in rows if r.step == 0))
    only_from = funnel_spec(breakdown="channel", created_from=start.date() + timedelta(days=200))
    assert engine.funnel(only_from, now=NOW).rows == oracle_funnel(stored, only_from, now=NOW).rows
    assert len(counts) == 2 and 0 not in counts
    # Two plans: one for a range with both ends, one for a range open at the end.
    assert (engine.plans.misses, engine.plans.hits) == (2, 1)


def test_kpis_of_every_period_share_their_plans_and_equal_the_oracle(app):
    from leadfunnel.analytics.kpi_oracle import oracle_kpis
    from leadfunnel.analytics.kpi_spec import kpi_spec
    from tests.integration.test_kpi_engine import NOW as KPI_NOW
    from tests.integration.test_kpi_engine import assert_same
    from tests.kpi_data import random_data, write_kpi_data

    data = random_data(random.Random(12))
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    periods = [(date(2025, 1, 20), date(2025, 3, 1)), (date(2025, 3, 2), date(2025, 6, 30))]
    for first, last in periods:
        for at in (KPI_NOW - timedelta(days=300), KPI_NOW):
            spec = kpi_spec(by="channel", period_from=first, period_to=last)
            assert_same(engine.kpis(spec, now=at), oracle_kpis(data, spec, now=at))
    # Leads, deals (with their lost reasons), costs and the total's overall measures: four
    # plans for all four asks.
    assert (engine.plans.misses, engine.plans.hits) == (4, 12)


def test_every_callers_owners_share_the_kpi_plans_and_get_their_own_leads(app):
    """A manager's or rep's questions carry their owners as a filter; the plans take them
    as a parameter, so every caller's KPIs come from the same plans (and nobody's: zeros)."""
    from leadfunnel.analytics.kpi_oracle import oracle_kpis
    from leadfunnel.analytics.kpi_spec import kpi_spec
    from tests.integration.test_kpi_engine import NOW as KPI_NOW
    from tests.integration.test_kpi_engine import assert_same
    from tests.kpi_data import OWNER, random_data, write_kpi_data

    data = random_data(random.Random(13))
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    stranger = "00000000-0000-7000-8000-000000000001"
    scopes = [[str(OWNER)], [stranger, str(OWNER)], ["-"], [stranger]]
    answers = []
    for owners in scopes:
        spec = kpi_spec(by="channel", filters=[f"owner_id={o}" for o in owners])
        answer = engine.kpis(spec, now=KPI_NOW)
        assert_same(answer, oracle_kpis(data, spec, now=KPI_NOW))
        assert answer.total is not None
        answers.append(answer.total.counts.leads)
    owned = sum(1 for _, lead in data.leads if lead.dims.get("owner_id"))
    assert answers == [owned, owned, 0, 0] and 0 < owned < len(data.leads)
    # Leads, deals and the total's overall measures (no cost under an owner filter): three
    # plans for every scope.
    assert (engine.plans.misses, engine.plans.hits) == (3, 9)


def test_a_plan_keeps_owners_out_of_its_sql():
    from leadfunnel.adapters.warehouse.plans import OWNERS, generic
    from leadfunnel.analytics.kpi_spec import kpi_spec

    shape, values = generic(funnel_spec(owners={"b", "a"}, created_from=date(2025, 1, 1)))
    assert shape.owners == frozenset([OWNERS]) and values["owners"] == ["a", "b"]
    assert generic(funnel_spec(owners=set()))[1] == {"owners": ["-"], "first_day": None,
                                                      "last_day": None}  # fmt: skip
    shape, values = generic(kpi_spec(filters=["owner_id=x", "region=EMEA"]))
    assert dict(shape.filters) == {"owner_id": (OWNERS,), "region": ("EMEA",)}
    assert values["owners"] == ["x"]
    plans = Plans()
    table = ibis.table({"owner_id": "string"}, name="milestones")
    sql = plans.sql("k", lambda _: table.filter(table.owner_id.isin([OWNERS])))
    assert "$owners" in sql and OWNERS not in sql
    # The stand-in anywhere but in its IN test would be a wrong plan: refused.
    with pytest.raises(RuntimeError, match="cannot parameterise"):
        plans.sql("k2", lambda _: table.filter(table.owner_id == OWNERS))
