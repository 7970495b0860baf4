"""The KPIs recover what the demo simulator put in (its truth file): spend per lead by
channel, each rep's response habit, the response-time effect, lost reasons, repeat buyers."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from leadfunnel.services.demo import build_demo
from leadfunnel.services.kpis import run_kpis

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory):
    """10,000 leads (seed 7), their truth, and a function asking KPI questions."""
    path = tmp_path_factory.mktemp("kpi-demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    app = build_app(Settings(database_url=f"sqlite:///{path}"))
    with BulkWriter(app.engine) as writer:
        result = build_demo(sink=writer, leads=10_000, seed=7, now=NOW)
        writer.commit()

    def ask(**question):
        return {row.group: row for row in run_kpis(engine=app.analytics, now=NOW, **question).rows}

    yield ask, result.truth, app
    app.close()


def test_cost_per_lead_by_channel_is_the_budgeted_one_and_ranks_the_same(demo):
    ask, truth, _ = demo
    rows = ask(by="channel")
    budget = {name: channel["cost_per_lead"] for name, channel in truth["channels"].items()}
    assert set(rows) == set(budget)
    cpl = {name: row.derived()["cpl"] for name, row in rows.items()}
    assert cpl["organic_search"] == 0.0
    for name, expected in budget.items():
        assert cpl[name] == pytest.approx(expected, rel=0.08), name
    assert sorted(cpl, key=cpl.__getitem__) == sorted(budget, key=budget.__getitem__)


def test_each_reps_median_time_to_first_response_is_their_habit(demo):
    ask, truth, app = demo
    with app.engine.connect() as conn:
        email = {uuid.UUID(str(u)): e for u, e in conn.execute(text("SELECT id, email FROM users"))}
    habit = {r["email"]: r["median_response_minutes"] for r in truth["reps"]}
    checked = 0
    for group, row in ask(by="owner_id").items():
        if group == "(none)" or row.counts.responded < 150:
            continue
        rep = email[uuid.UUID(group)]
        assert row.counts.mttr_median_minutes == pytest.approx(habit[rep], rel=0.25), rep
        checked += 1
    assert checked >= 15


def test_leads_answered_within_five_minutes_reach_sql_more_often(demo):
    ask, truth, _ = demo
    owners = ask(by="owner_id")
    fast = [
        g
        for g, r in owners.items()
        if r.counts.mttr_median_minutes is not None and r.counts.mttr_median_minutes <= 5
    ]
    slow = [
        g
        for g, r in owners.items()
        if r.counts.mttr_median_minutes is not None and r.counts.mttr_median_minutes >= 240
    ]
    assert len(fast) >= 3 and len(slow) >= 3
    (quick,) = ask(where=[f"owner_id={g}" for g in fast]).values()
    (late,) = ask(where=[f"owner_id={g}" for g in slow]).values()
    assert quick.derived()["share_responded_5m"] > 0.4 > 0.01 > late.derived()["share_responded_5m"]
    assert quick.derived()["mql_to_sql"] > late.derived()["mql_to_sql"] + 0.1
    assert truth["response_time_effect"]["odds_multiplier_at_minutes"]["240"] < 0.5


def test_lost_reasons_and_repeat_purchases(demo):
    ask, truth, _ = demo
    (row,) = ask().values()
    shares = {r["reason"]: r["share"] for r in row.lost_reason_shares()}
    assert set(shares) == set(truth["lost_reason_shares"])
    for reason, expected in truth["lost_reason_shares"].items():
        assert shares[reason] == pytest.approx(expected, abs=0.05), reason
    k = row.derived()
    # Some customers buy again: a customer is worth more than one deal.
    assert row.counts.won_deals > row.counts.customers and k["ltv"] > k["avg_deal_size"]
    assert (
        row.counts.customers == row.counts.new_customers == row.counts.won
    )  # one lead, one customer
    assert 0 < k["win_rate"] < 1 and k["sales_velocity"] > 0 and row.counts.cost > 0
