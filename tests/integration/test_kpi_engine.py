"""The KPI engine equals the oracle on DuckDB and PostgreSQL; its sync is incremental and
crash-safe for deals, activities and costs too."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from leadfunnel.adapters.warehouse.duckdb_store import OVERLAP
from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.kpi_oracle import Activity, Deal, KpiData, oracle_kpis
from leadfunnel.analytics.kpi_spec import kpi_spec
from leadfunnel.analytics.kpis import KpiResult, KpiRow
from tests.kpi_data import JAN, OWNER, random_data, worked_example, write_kpi_data

NOW = JAN + timedelta(days=400)

SPECS = [
    kpi_spec(),
    kpi_spec(by="channel"),
    kpi_spec(by="channel", attribution="last_touch", period_from=date(2025, 2, 1), period_to=date(2025, 5, 31)),
    kpi_spec(by="campaign", filters=["channel=webinar", "channel=(none)"]),
    kpi_spec(by="region", filters=["campaign=Spring"]),
    kpi_spec(filters=["region=(none)"], period_to=date(2025, 3, 1)),
    kpi_spec(by="owner_id", filters=["region=EMEA"]),
    kpi_spec(filters=[f"owner_id={OWNER}"]),
    kpi_spec(by="channel", filters=["custom.plan=gold", "custom.plan=42", "region=EMEA"]),
    kpi_spec(by="region", filters=["custom.plan=(none)"]),
]  # fmt: skip


def _floats_close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)


def assert_same(actual: KpiResult, expected: KpiResult) -> None:
    """Equal counts and money; means and medians equal to 1e-6 (float sums differ in
    order); the same total (a breakdown's), or none."""
    assert [r.group for r in actual.rows] == [r.group for r in expected.rows]
    assert (actual.total is None) == (expected.total is None)
    pairs = [*zip(actual.rows, expected.rows, strict=True)]
    if actual.total is not None and expected.total is not None:
        pairs.append((actual.total, expected.total))
    for got, want in pairs:
        floats = ("mttr_mean_minutes", "mttr_median_minutes", "sales_cycle_days")
        for name in floats:
            assert _floats_close(getattr(got.counts, name), getattr(want.counts, name)), (
                got.group,
                name,
            )
        assert replace(got.counts, **dict.fromkeys(floats)) == replace(
            want.counts, **dict.fromkeys(floats)
        ), got.group


@st.composite
def kpi_specs(draw):
    days = [None, date(2025, 1, 20), date(2025, 3, 1), date(2025, 6, 30)]
    start, end = draw(st.sampled_from(days)), draw(st.sampled_from(days))
    if start and end and start > end:
        start, end = end, start
    where = draw(st.lists(st.sampled_from(["channel=webinar", "channel=(none)", "campaign=Spring",
                                           "region=EMEA", "region=(none)", "custom.plan=gold",
                                           "custom.plan=(none)"]), max_size=2))  # fmt: skip
    return kpi_spec(
        by=draw(st.sampled_from([None, "channel", "campaign", "region"])),
        attribution=draw(st.sampled_from(["first_touch", "last_touch"])),
        period_from=start,
        period_to=end,
        filters=where,
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(0, 40),
    spec_list=st.lists(kpi_specs(), min_size=1, max_size=2),
)
def test_duckdb_engine_equals_the_oracle_on_random_data_and_questions(
    fresh_app, seed, size, spec_list
):
    app = fresh_app()
    data = random_data(random.Random(seed), n=size)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    for spec in spec_list:
        assert_same(engine.kpis(spec, now=NOW), oracle_kpis(data, spec, now=NOW))


def test_the_worked_example_on_each_backend(any_app):
    data = worked_example()
    write_kpi_data(any_app, data)
    engine = analytics_engine(any_app.engine)
    for spec in (
        kpi_spec(period_from=date(2025, 1, 1), period_to=date(2025, 1, 31)),
        kpi_spec(by="channel"),
    ):
        result = engine.kpis(spec, now=NOW)
        assert_same(result, oracle_kpis(data, spec, now=NOW))
    (row,) = engine.kpis(SPECS[0], now=NOW).rows
    assert (row.counts.leads, row.counts.won_revenue, round(row.derived()["sales_velocity"], 2)) == (
        5, Decimal(14_000), 155.56)  # fmt: skip


def test_engines_equal_the_oracle_on_random_data(any_app):
    data = random_data(random.Random(4))
    write_kpi_data(any_app, data)
    engine = analytics_engine(any_app.engine)
    for spec in SPECS:
        assert_same(engine.kpis(spec, now=NOW), oracle_kpis(data, spec, now=NOW))
    # A breakdown's total is the question without it (cost aside where it is not
    # attributable to the breakdown's groups).
    for by in ("channel", "region", "campaign"):
        spec = kpi_spec(by=by, period_from=date(2025, 1, 20))
        total = engine.kpis(spec, now=NOW).total
        (whole,) = engine.kpis(replace(spec, by=None), now=NOW).rows
        assert total is not None and total.counts.responded > 10
        expected = whole.counts if spec.cost_attributable else replace(whole.counts, cost=None)
        assert_same(KpiResult(spec, (), total), KpiResult(spec, (), KpiRow(expected)))
    owners = engine.kpis(kpi_spec(by="owner_id"), now=NOW).rows
    assert sorted(r.group for r in owners) == ["(none)", str(OWNER)]  # the dashed form on both
    (row,) = engine.kpis(SPECS[0], now=NOW).rows
    c = row.counts
    assert c.responded > 20 and c.won_deals > 20 and len(c.lost_reasons) == 3
    assert 0 < c.new_customers < c.customers  # an account's first win came through no lead
    assert 0 < c.responded_5m < c.response_due and c.cost and c.cost > 0


def test_the_store_keeps_lead_ids_as_uuids_that_join_across_its_tables(app):
    """Every lead id column of the DuckDB store is a UUID (joins on sixteen bytes, not 32
    characters of text); the ids are the write store's, and deals and activities find
    their leads."""
    data = random_data(random.Random(31), n=30)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    engine.sync(now=NOW)
    engine.store.release()
    with duckdb.connect(str(engine.store.path), read_only=True) as db:
        types = dict(db.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE column_name = 'lead_id' OR (table_name, column_name) IN "
            "(('leads', 'id'), ('opportunities', 'account_id'))"
        ).fetchall())  # fmt: skip
        ids = {row[0] for row in db.execute("SELECT id FROM leads").fetchall()}
        unmatched = [
            db.execute(f"SELECT count(*) FROM {table} WHERE lead_id NOT IN (SELECT id FROM leads)")
            .fetchone()[0]
            for table in ("opportunities", "activities", "milestones", "stage_transitions")
        ]
        (deals,) = db.execute("SELECT count(*) FROM opportunities").fetchone()
    assert set(types) >= {
        "leads.id", "stage_transitions.lead_id", "milestones.lead_id", "stage_stays.lead_id",
        "activities.lead_id", "opportunities.lead_id", "touchpoints.lead_id",
        "opportunities.account_id",
    }  # fmt: skip
    assert set(types.values()) == {"UUID"}
    assert ids == {lead_id for lead_id, _ in data.leads}
    assert unmatched == [0, 0, 0, 0] and deals == len(data.deals) > 0


def test_an_empty_store_gives_one_valid_all_row(app):
    engine = analytics_engine(app.engine)
    (row,) = engine.kpis(kpi_spec(), now=NOW).rows
    assert (row.group, row.counts.leads, row.counts.cost, row.derived()["win_rate"]) == (
        "all",
        0,
        0,
        None,
    )
    assert engine.kpis(kpi_spec(by="region"), now=NOW).rows == ()


def test_a_second_sync_reads_only_new_activities_and_changed_deals(app):
    data = random_data(random.Random(8), n=60)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    first = engine.sync(now=NOW)
    assert first.records["activities"] == len(data.activities) and first.records[
        "opportunities"
    ] == len(data.deals)
    before = engine.kpis(kpi_spec(), now=NOW).rows[0].counts

    later = NOW + timedelta(hours=3)
    lead_id = data.leads[0][0]
    extra = KpiData(
        leads=[(UUID(int=77), LeadHistory(later, "lead", (("lead", later),), {"channel": "webinar"}))],
        activities=[Activity(UUID(int=77), "call", later + timedelta(minutes=2))],
        deals=[Deal(UUID(int=78), lead_id, Decimal(500), "won", later, later)],
    )  # fmt: skip
    write_kpi_data(app, extra, written_at=later)
    with app.engine.begin() as conn:  # a deal closes: its row changes in place
        conn.execute(text("UPDATE opportunities SET stage = 'lost', lost_reason = 'timing', updated_at = :at "
                          "WHERE id = (SELECT id FROM opportunities WHERE stage = 'proposal' LIMIT 1)"),
                     {"at": (later + timedelta(minutes=1)).replace(tzinfo=None)})  # fmt: skip
    second = engine.sync(now=later + timedelta(hours=1))
    # Besides the new and changed rows, those stamped within the overlap before the watermark.
    newest_activity, newest_deal = (
        max(a.at for a in data.activities),
        max(d.created_at for d in data.deals),
    )
    overlap_activities = sum(a.at >= newest_activity - OVERLAP for a in data.activities)
    overlap_deals = sum(d.created_at >= newest_deal - OVERLAP for d in data.deals)
    assert not second.full
    assert second.records["activities"] == 1 + overlap_activities < 5
    assert (
        second.records["opportunities"] == 2 + overlap_deals < 6
    )  # the new deal and the closed one
    after = engine.kpis(kpi_spec(), now=later + timedelta(hours=1)).rows[0].counts
    assert (after.leads, after.responded) == (before.leads + 1, before.responded + 1)
    assert (after.lost_deals, after.open_deals) == (before.lost_deals + 1, before.open_deals - 1)
    assert (after.won_deals, after.won_revenue) == (before.won_deals + 1, before.won_revenue + 500)
    # Nothing written since: the engine does not read again; the store's own sync would re-read
    # only what is inside the overlap.
    assert engine.sync(now=later + timedelta(hours=2)) is second
    assert engine.store.sync(engine.reader, now=later + timedelta(hours=2)).records["activities"] == 1


def test_costs_edited_in_place_are_seen_and_a_crashed_sync_changes_nothing(app):
    data = worked_example()
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    assert engine.kpis(kpi_spec(), now=NOW).rows[0].counts.cost == Decimal(5_500)
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE campaign_costs SET amount = 2100 WHERE amount = 2000"))

    class Crashing:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def records(self, table, **kwargs):
            if table == "campaign_costs":
                raise RuntimeError("disk pulled out mid-sync")
            return self.inner.records(table, **kwargs)

    with pytest.raises(RuntimeError, match="mid-sync"):
        engine.store.sync(Crashing(engine.reader), now=NOW)
    con = engine.store.connect()
    try:
        assert con.table("campaign_costs").amount.sum().to_pyarrow().as_py() == Decimal(5_500)
    finally:
        con.disconnect()
    assert engine.kpis(kpi_spec(), now=NOW).rows[0].counts.cost == Decimal(5_600)


def test_costs_are_copied_again_only_when_they_changed(app):
    write_kpi_data(app, worked_example())
    engine = analytics_engine(app.engine)
    first = engine.store.sync(engine.reader, now=NOW)
    assert first.records["campaign_costs"] > 0
    assert engine.store.sync(engine.reader, now=NOW).records["campaign_costs"] == 0
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM campaign_costs WHERE amount = 2000"))
    assert engine.store.sync(engine.reader, now=NOW).records["campaign_costs"] == first.records["campaign_costs"] - 1
    assert engine.kpis(kpi_spec(), now=NOW).rows[0].counts.cost == Decimal(3_500)


def test_now_is_compared_in_utc_on_every_backend(any_app):
    data = worked_example()
    write_kpi_data(any_app, data)
    engine = analytics_engine(any_app.engine)
    e_created = datetime(2025, 1, 12, 9, 0, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    local = (e_created + timedelta(minutes=3)).astimezone(ZoneInfo("America/New_York"))
    spec = kpi_spec(period_to=date(2025, 1, 12))
    assert_same(engine.kpis(spec, now=local), oracle_kpis(data, spec, now=local))
