"""The forecast on the demo company: backtested month by month as of each month's first
day, its P10-P90 range covers what was booked in at least 80 % of the months; a rep's
forecast is made of, and learned from, their own deals only; a category set on a deal
reaches the forecast through the analytics store."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime

import pytest

from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from leadfunnel.domain.access import SYSTEM, Principal, lead_scope
from leadfunnel.services.demo import build_demo
from leadfunnel.services.forecast import backtest_forecast, forecast_period
from leadfunnel.services.opportunities import update_opportunity

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory):
    """10,000 leads (seed 7) of simulated history ending at NOW."""
    path = tmp_path_factory.mktemp("forecast-demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    app = build_app(Settings(database_url=f"sqlite:///{path}"))
    with BulkWriter(app.engine) as writer:
        build_demo(sink=writer, leads=10_000, seed=7, now=NOW)
        writer.commit()
    yield app
    app.close()


def test_the_monthly_range_covers_what_was_booked_in_at_least_80_percent_of_months(demo):
    result = backtest_forecast(engine=demo.analytics, now=NOW, periods=24, draws=2000)
    months = result.overall
    assert months.periods >= 18  # the demo's two years, less the months before a first close
    assert months.coverage >= 0.8, [(p.period, p.p10, p.actual, p.p90) for p in result.points]
    assert months.mape is not None and months.mape < 0.6
    assert abs(months.bias) < 0.25
    actual = {p.period: p.actual for p in result.points}
    won = demo.analytics.forecast_deals(now=NOW, owners=None)
    february = sum(d.amount for d in won if d.outcome == "won" and _month(d.closed_at) == "2026-02")
    assert actual["2026-02"] == pytest.approx(february)


def _month(days: float) -> str:
    return datetime.fromtimestamp(days * 86_400, UTC).strftime("%Y-%m")


def test_a_reps_forecast_is_made_of_their_own_deals(demo):
    everyone = forecast_period(
        engine=demo.analytics, now=NOW, period="2026-Q1", by="rep", draws=500
    )
    busiest = max(everyone.rows, key=lambda r: r.open_deals)
    rep = Principal(user_id=uuid.UUID(busiest.group), role="rep", name="rep")
    theirs = forecast_period(
        engine=demo.analytics, now=NOW, period="2026-Q1", draws=500, principal=rep
    )
    assert {d.owner for d in theirs.deals} == {busiest.group}
    assert theirs.total.open_deals == busiest.open_deals
    assert theirs.total.closed_won == pytest.approx(busiest.closed_won)
    assert {r.owner for r in theirs.reps} == {busiest.group}


def test_a_category_set_on_a_deal_reaches_the_forecast(demo):
    before = forecast_period(engine=demo.analytics, now=NOW, period="2026-Q1", draws=500)
    target = max(before.deals, key=lambda d: d.amount)
    with demo.uow_factory(write=False) as uow:
        version = uow.crm.opportunity(lead_scope(SYSTEM), uuid.UUID(target.id))["version"]
    update_opportunity(uow_factory=demo.uow_factory, principal=SYSTEM, opportunity_id=uuid.UUID(target.id),
                       changes={"forecast_category": "commit", "next_step": "Board sign-off",
                                "expected_close": NOW.date()}, expected_version=version, now=NOW)  # fmt: skip
    after = forecast_period(engine=demo.analytics, now=NOW, period="2026-Q1", draws=500)
    [deal] = [d for d in after.deals if d.id == target.id]
    assert deal.category == "commit" and deal.in_period
    assert after.total.categories.amounts["commit"] >= after.total.closed_won + target.amount
    assert target.id not in {h.id for h in after.health if h.missing_next_step}
