"""The engine on Spark answers every analytics question as it does on DuckDB (and, loaded
from a PostgreSQL write store, as PostgreSQL does), on the fixed data sets the other engine
tests use; a sync loads the store again only when it changed.

Few tests, each asking many questions: they share one Spark session (``spark_session``),
and each test's store is loaded once.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.drill import drill_spec
from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.analytics.kpi_spec import kpi_spec
from leadfunnel.analytics.stagnation import stagnation_spec
from leadfunnel.services.lifecycle import move_lead
from tests.histories import BASE, write_histories, write_reps
from tests.integration import test_event_funnel_engine as event_tests
from tests.integration import test_funnel_engine as lifecycle_tests
from tests.integration import test_kpi_engine as kpi_tests
from tests.kpi_data import random_data, write_kpi_data

# make test runs them apart, in one process (pytest -p no:xdist -m spark): one JVM.
pytestmark = [pytest.mark.spark]

NOW = BASE + timedelta(days=330)
LIFECYCLE_SPECS = [
    *lifecycle_tests.FIXED_SPECS,
    funnel_spec(mode="any", window="90d", breakdown="region", cohort="quarter"),
    funnel_spec(steps=["lead", "mql", "sql"], mode="strict", breakdown="channel"),
    funnel_spec(steps=["mql", "opportunity"], breakdown="owner_id", cohort="month", cohort_by="entered"),
]  # fmt: skip


def _spark(app, spark_session):
    from leadfunnel.adapters.warehouse.spark_store import SparkEngine, SparkStore

    return SparkEngine(app.engine, SparkStore(spark_session))


def _close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)


def assert_same_stats(got, want) -> None:
    assert (got.count, got.histogram, got.open) == (want.count, want.histogram, want.open)
    assert all(
        _close(x, y)
        for x, y in (
            (got.mean_days, want.mean_days),
            (got.median_days, want.median_days),
            (got.p90_days, want.p90_days),
        )
    ), (got, want)


def test_lifecycle_funnels_drill_downs_and_times_on_spark_equal_duckdb(app, spark_session):
    owners = write_reps(app, 2)
    leads = [
        LeadHistory(lead.created_at, lead.current_stage, lead.transitions,
                    {**lead.dims, "owner_id": owners[i % 3] if i % 3 < 2 else None})
        for i, lead in enumerate(lifecycle_tests._walks(random.Random(11)))
    ]  # fmt: skip
    write_histories(app, leads)
    duck, spark = analytics_engine(app.engine), _spark(app, spark_session)
    for spec in LIFECYCLE_SPECS:
        got, expected = spark.funnel(spec, now=NOW), duck.funnel(spec, now=NOW)
        assert got.rows == expected.rows, spec
        assert expected.rows, spec  # the fixed set is not trivially empty
    assert {str(owners[0]), str(owners[1]), "(none)"} <= {r.group for r in got.rows}
    cells = [
        drill_spec(LIFECYCLE_SPECS[0], step="mql", outcome="dropped"),
        drill_spec(LIFECYCLE_SPECS[0], step="sql", outcome="open"),
        drill_spec(LIFECYCLE_SPECS[1], step="lead", outcome="converted", group="webinar"),
        drill_spec(LIFECYCLE_SPECS[2], step="mql", cohort=BASE.date().replace(month=3)),
        drill_spec(LIFECYCLE_SPECS[-1], step="mql", group=str(owners[1])),
    ]
    totals = 0
    for cell in cells:
        expected_page = duck.drill(cell, now=NOW, limit=1000, offset=0)
        assert spark.drill(cell, now=NOW, limit=1000, offset=0) == expected_page, cell
        totals += expected_page[1]
    page = duck.drill(cells[0], now=NOW, limit=1000, offset=0)[0]
    assert spark.drill(cells[0], now=NOW, limit=2, offset=1) == (page[1:3], len(page))
    assert totals > 20
    stages, expected_stages = spark.stage_times(now=NOW), duck.stage_times(now=NOW)
    assert sorted(stages) == sorted(expected_stages)
    for stage, stats in expected_stages.items():
        assert_same_stats(stages[stage], stats)
    ordered, strict, any_order = LIFECYCLE_SPECS[0], LIFECYCLE_SPECS[2], LIFECYCLE_SPECS[5]
    for spec in (ordered, strict, any_order):
        got, want = spark.step_times(spec, now=NOW), duck.step_times(spec, now=NOW)
        assert len(got) == len(want), spec
        for g, w in zip(got, want, strict=True):
            assert_same_stats(g, w)
    for text in ("30d", "mql=14d,sql=60d,nurture=2w"):
        spec = stagnation_spec(text)
        got_rows, want_rows = spark.stagnation(spec, now=NOW), duck.stagnation(spec, now=NOW)
        assert [(r.stage, r.open, r.stagnant) for r in got_rows] == [
            (r.stage, r.open, r.stagnant) for r in want_rows
        ]
        assert all(
            _close(g.longest_days, w.longest_days) for g, w in zip(got_rows, want_rows, strict=True)
        )


def test_event_funnels_and_custom_field_breakdowns_on_spark_equal_duckdb(app, spark_session):
    leads = event_tests._walks(random.Random(17))
    write_histories(app, leads)
    duck, spark = analytics_engine(app.engine), _spark(app, spark_session)
    groups = set()
    # Of the two event funnels in modes strict and any, one (any: LEAST/GREATEST of the
    # step times, exclusions inside their span) keeps this shared-session test short.
    for spec in [*event_tests.FIXED_SPECS[:6], *event_tests.FIXED_SPECS[7:]]:  # filters: 8, 9
        got, expected = spark.funnel(spec, now=NOW), duck.funnel(spec, now=NOW)
        assert got.rows == expected.rows, spec
        assert sum(r.converted for r in expected.rows) > 0, spec
        groups |= {r.group for r in got.rows if spec.custom_key == "plan"}
    assert {"gold", "(none)", "other"} <= groups
    cells = [
        drill_spec(event_tests.FIXED_SPECS[0], step="form_submit", outcome="dropped"),
        drill_spec(event_tests.FIXED_SPECS[1], step="mql", outcome="converted", group="gold"),
        drill_spec(event_tests.FIXED_SPECS[3], step="mql", outcome="dropped"),
        drill_spec(event_tests.FIXED_SPECS[8], step="ad_click", outcome="dropped", group="email"),
    ]
    for cell in cells:
        assert spark.drill(cell, now=NOW, limit=1000, offset=0) == duck.drill(
            cell, now=NOW, limit=1000, offset=0
        ), cell
    for spec in event_tests.FIXED_SPECS[:3]:
        got, want = spark.step_times(spec, now=NOW), duck.step_times(spec, now=NOW)
        assert len(got) == len(want), spec
        for g, w in zip(got, want, strict=True):
            assert_same_stats(g, w)


def test_kpis_on_spark_equal_duckdb(app, spark_session):
    write_kpi_data(app, random_data(random.Random(4)))
    duck, spark = analytics_engine(app.engine), _spark(app, spark_session)
    # All leads; by channel, last touch, in a period; by campaign, filtered; by owner (dashed
    # ids); filtered by a custom field.
    now = kpi_tests.NOW
    specs = kpi_tests.SPECS
    for spec in (specs[0], specs[2], specs[3], kpi_spec(by="owner_id"), specs[8]):
        kpi_tests.assert_same(spark.kpis(spec, now=now), duck.kpis(spec, now=now))
    (row,) = spark.kpis(kpi_tests.SPECS[0], now=now).rows
    assert row.counts.won_deals > 20 and row.counts.cost and row.counts.cost > 0


def test_spark_loaded_from_postgresql_equals_postgresql(postgresql_url, clock, spark_session):
    from leadfunnel.bootstrap import build_app
    from leadfunnel.config import Settings

    pg = build_app(Settings(database_url=postgresql_url), clock=clock)
    try:
        write_histories(pg, event_tests._walks(random.Random(17)))
        direct, spark = analytics_engine(pg.engine), _spark(pg, spark_session)
        for spec in [*LIFECYCLE_SPECS[:3], *event_tests.FIXED_SPECS[1:3]]:
            assert spark.funnel(spec, now=NOW).rows == direct.funnel(spec, now=NOW).rows, spec
        cell = drill_spec(LIFECYCLE_SPECS[0], step="mql", outcome="dropped")
        expected = direct.drill(cell, now=NOW, limit=1000, offset=0)
        assert spark.drill(cell, now=NOW, limit=1000, offset=0) == expected and expected[1] > 0
    finally:
        pg.close()


def test_a_sync_loads_the_store_again_only_when_it_changed(app, spark_session):
    leads = lifecycle_tests._walks(random.Random(5))[:50]
    write_histories(app, leads)
    spark = _spark(app, spark_session)
    first = spark.sync(now=NOW)
    assert (first.full, first.leads) == (True, 50) and first.transitions >= 50
    # The store itself finds nothing changed (the engine may not even ask it).
    assert spark.store.sync(spark.reader, now=NOW) == type(first)(0, 0, False, None)
    before = {r.stage: r.reached for r in spark.funnel(funnel_spec(), now=NOW).rows}["mql"]
    with app.uow_factory(write=False) as uow:
        open_leads = uow.leads.list(filters={"stage": "lead"}, limit=3, offset=0)[0]
    for lead in open_leads:
        move_lead(uow_factory=app.uow_factory, lead_id=lead["id"], to="mql", actor="t", now=NOW)
    after = {r.stage: r.reached for r in spark.funnel(funnel_spec(), now=NOW).rows}["mql"]
    assert len(open_leads) == 3 and after == before + 3


def test_the_cli_answers_on_spark_when_the_settings_say_so(
    capsys, sqlite_url, monkeypatch, spark_session
):
    from leadfunnel.adapters.warehouse.spark_store import SparkEngine
    from leadfunnel.entrypoints.cli.common import open_app
    from tests.e2e.conftest import Cli

    cli = Cli(capsys, sqlite_url)
    added = [
        cli.json("lead", "add", "--data", json.dumps({"email": email, "channel": "webinar"}))
        for email in ("a@x.example", "b@x.example", "c@x.example")
    ]
    cli.json("lead", "move", added[0]["lead_id"], "--to", "mql")
    question = ("funnel", "--steps", "lead,mql", "--by", "channel")
    on_duckdb = cli.json(*question)
    monkeypatch.setenv("LEADFUNNEL_ANALYTICS", "spark")
    with open_app(sqlite_url) as app:
        assert isinstance(app.analytics, SparkEngine)
    assert cli.json(*question) == on_duckdb
    assert [row["reached"] for row in on_duckdb["rows"]] == [3, 1]
