"""The period forecast and its backtest: nothing after the as-of moment leaks in, the
expected value adds up, categories roll up, deal health finds slipped, stagnant and
next-step-less deals, and the accuracy figures are what they say."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from leadfunnel.analytics.forecast import run_forecast
from leadfunnel.analytics.forecast_backtest import BacktestPoint, backtest, summarise
from leadfunnel.analytics.forecast_categories import category_disagreement, roll_up
from leadfunnel.analytics.forecast_data import Deal, day_number
from leadfunnel.analytics.forecast_health import deal_health, rep_health, stage_p75
from leadfunnel.analytics.forecast_spec import ForecastSpec, Period, forecast_spec, parse_period
from leadfunnel.domain.errors import ValidationError
from tests.forecast_data import open_deal, synthetic, won_deal

# The synthetic deals live on days 0-400 after the epoch: 1970-01-01 to early 1971.
MAY = parse_period("1970-05")
NOW = day_number(date(1971, 3, 1))


def _spec(period: Period = MAY, **options) -> ForecastSpec:
    return forecast_spec(
        period=period, as_of=options.pop("as_of", period.start), now=NOW, draws=2000, **options
    )


def _future(deals: list[Deal], after: float) -> list[Deal]:
    """The same deals plus what happened after ``after``: new deals, and later stage changes
    (wins and losses, moves back) on every deal that was open then."""
    changed = []
    for i, deal in enumerate(deals):
        if deal.outcome == "open" or (deal.closed_at or 0) > after:
            kept = tuple(h for h in deal.history if h[0] <= after)
            deal = replace(
                deal, history=(*kept, (after + 1 + i % 5, "negotiation"), (after + 9, "won"))
            )
        changed.append(deal)
    born = [
        won_deal(10_000 + i, after + 0.5, proposal=after + 1, won=after + 2, amount=1e6)
        for i in range(50)
    ]
    return changed + born


@pytest.mark.parametrize("by", [None, "team"])
def test_a_forecast_as_of_a_past_day_reads_nothing_after_it(by):
    deals = synthetic(1500, seed=11)
    spec = _spec(by=by)
    before = run_forecast(deals, spec).to_dict()
    after = run_forecast(_future(deals, spec.as_of), spec).to_dict()
    assert before == after
    assert before["total"]["open_deals"] > 0 and before["period_sigma"] >= 0


def test_backtests_never_read_after_each_as_of_moment():
    deals = synthetic(1500, seed=12)
    periods = [parse_period(p) for p in ("1970-04", "1970-05", "1970-06")]
    spec = _spec()
    honest = backtest(deals, periods=periods, spec=spec)
    # Rewriting everything after each period's start cannot change that period's forecast.
    for period, point in zip(periods, honest.points, strict=True):
        leaked = backtest(_future(deals, period.start), periods=[period], spec=spec)
        assert (leaked.points[0].forecast, leaked.points[0].p10, leaked.points[0].p90) == (
            point.forecast, point.p10, point.p90,
        )  # fmt: skip


def test_expected_bookings_add_up_and_the_range_brackets_them():
    deals = synthetic(1500, seed=13)
    forecast = run_forecast(deals, _spec(by="team"))
    total = forecast.total
    assert total.expected == pytest.approx(
        total.closed_won + total.expected_open + total.new_expected
    )
    assert total.expected_open == pytest.approx(
        sum(d.amount * d.probability for d in forecast.deals)
    )
    assert sum(r.expected for r in forecast.rows) == pytest.approx(total.expected)
    assert (
        total.bookings.p10 <= total.expected * 1.05 and total.expected * 0.95 <= total.bookings.p90
    )
    assert {r.group for r in forecast.rows} == {"team0", "team1"}


def test_a_forecast_made_inside_the_period_counts_what_was_already_won():
    deals = synthetic(1500, seed=14)
    as_of = MAY.start + 15
    forecast = run_forecast(deals, _spec(as_of=as_of))
    won = sum(d.amount for d in deals if d.outcome == "won" and MAY.start <= d.closed_at < as_of)
    assert forecast.total.closed_won == pytest.approx(won) and won > 0
    assert forecast.total.bookings.p10 >= won


def test_on_synthetic_history_the_range_covers_most_months():
    deals = synthetic(6000, seed=15, span=600.0)
    periods = [parse_period(f"1970-{m:02d}") for m in range(6, 13)] + [parse_period("1971-01")]
    result = backtest(deals, periods=periods, spec=_spec())
    assert result.overall.periods == 8
    assert result.overall.coverage >= 0.75
    assert abs(result.overall.bias) < 0.15


def test_accuracy_figures_are_mape_bias_and_coverage():
    points = [BacktestPoint("m1", "all", 110, 90, 105, 130, 100), BacktestPoint("m2", "all", 80, 60, 80, 95, 100),
              BacktestPoint("m3", "all", 50, 10, 50, 90, 0)]  # fmt: skip
    s = summarise("all", points)
    assert s.mape == pytest.approx((0.1 + 0.2) / 2)
    assert s.bias == pytest.approx((10 - 20 + 50) / 200)
    assert s.coverage == pytest.approx(1 / 3, abs=1e-4)  # only m1 lies within its range


def test_categories_roll_up_cumulatively_next_to_the_model():
    rollup = roll_up(
        [("commit", 100.0, 0.9), ("best_case", 50.0, 0.5), (None, 20.0, 0.1)], 1000.0, 3
    )
    assert rollup.amounts == {
        "closed_won": 1000,
        "commit": 1100,
        "best_case": 1150,
        "pipeline": 1170,
    }
    assert rollup.deals == {"closed_won": 3, "commit": 4, "best_case": 5, "pipeline": 6}
    assert rollup.model["pipeline"] == pytest.approx(1000 + 90 + 25 + 2)


@pytest.mark.parametrize(
    ("category", "p", "flagged"),
    [("commit", 0.2, True), ("commit", 0.7, False), ("best_case", 0.05, True), ("best_case", 0.3, False),
     ("pipeline", 0.8, True), (None, 0.65, True), (None, 0.3, False)],
)  # fmt: skip
def test_a_call_the_model_disagrees_with_is_flagged(category, p, flagged):
    assert (category_disagreement(category, p) is not None) is flagged


def test_deal_health_finds_slipped_stagnant_and_next_step_less_deals():
    history = [
        won_deal(i, 0.0, proposal=1.0, won=1.0 + d) for i, d in enumerate((5, 10, 20, 40, 60))
    ]
    p75 = stage_p75(history)["proposal"]
    assert p75 == pytest.approx(40.0)
    deals = [*history,
             open_deal(1, 100.0, stage="proposal", entered=150.0, owner="ann", expected_close=190.0, next_step="call"),
             open_deal(2, 180.0, stage="proposal", entered=195.0, owner="ann", expected_close=230.0),
             open_deal(3, 180.0, stage="proposal", entered=195.0, owner="bob", expected_close=230.0, next_step="demo")]  # fmt: skip
    found = {h.id: h for h in deal_health(deals, as_of=200.0)}
    assert set(found) == {"open-1", "open-2"}
    assert (
        found["open-1"].stagnant
        and found["open-1"].slipped_days == 10
        and not found["open-1"].missing_next_step
    )
    assert (
        found["open-2"].missing_next_step
        and not found["open-2"].stagnant
        and found["open-2"].slipped_days is None
    )
    reps = {r.owner: r for r in rep_health(deals, list(found.values()))}
    assert (
        reps["ann"].open_deals,
        reps["ann"].slipped,
        reps["ann"].stagnant,
        reps["ann"].missing_next_step,
    ) == (2, 1, 1, 1)
    assert (reps["bob"].slipped, reps["bob"].stagnant, reps["bob"].missing_next_step) == (0, 0, 0)


def test_periods_parse_and_bad_questions_name_their_option():
    q1 = parse_period("2026-q1")
    assert (q1.label, q1.start_date, q1.end_date) == ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1))
    assert parse_period("2026-12").next().label == "2027-01" and q1.previous().label == "2025-Q4"
    for bad, field in (("2026-13", "period"), ("Q1", "period")):
        with pytest.raises(ValidationError) as raised:
            parse_period(bad)
        assert raised.value.field == field
    with pytest.raises(ValidationError, match="future"):
        forecast_spec(period=q1, as_of=NOW + 1, now=NOW)
    with pytest.raises(ValidationError):
        forecast_spec(period=q1, as_of=NOW, now=NOW, by="region")
    with pytest.raises(ValidationError, match="1970"):
        forecast_spec(period=q1, as_of=-1.0, now=NOW)
