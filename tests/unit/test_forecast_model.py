"""Learned win probabilities: the empirical win rate when nothing is open, censoring of
young open deals, shrinkage of thin segments, the fixed-table override."""

from __future__ import annotations

import numpy as np
import pytest

from leadfunnel.analytics.forecast_data import known_at
from leadfunnel.analytics.forecast_model import (
    ModelSettings,
    WinModel,
    cumulative_incidence,
    grouped_incidence,
)
from tests.forecast_data import lost_deal, open_deal, synthetic, won_deal

FOREVER = 1e7


def _reached(deals, stage):
    return [d for d in deals if any(s == stage for _, s in d.history)]


def test_cumulative_incidence_without_censoring_is_the_share_won_by_each_horizon():
    durations = np.array([1.0, 2.0, 2.0, 5.0, 8.0])
    events = np.array([1, 2, 1, 1, 2], dtype=np.int8)
    assert cumulative_incidence(durations, events, [0.5, 2.0, 6.0, 100.0]) == pytest.approx(
        [0.0, 0.4, 0.6, 0.6]
    )


def test_a_censored_deal_counts_while_observed_and_then_leaves_the_risk_set():
    # Two deals: one won at day 4, one still open at day 2 (censored). Kaplan-Meier: the
    # open one says nothing about day 4, so the win at day 4 has the whole remaining mass.
    durations = np.array([4.0, 2.0])
    events = np.array([1, 0], dtype=np.int8)
    assert cumulative_incidence(durations, events, [3.0, 5.0]) == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_the_grouped_estimator_equals_the_one_group_oracle_on_every_group(seed):
    rng = np.random.default_rng(seed)
    n = 400
    keys = rng.integers(0, 7, n).astype(np.int64)
    durations = rng.integers(0, 30, n).astype(np.float64)  # whole days: many ties
    events = rng.choice(np.array([0, 1, 2], dtype=np.int8), n)
    horizons = [0.0, 3.0, 12.5, 29.0, float("inf")]
    found, counts, table = grouped_incidence(keys, durations, events, horizons)
    assert found.tolist() == np.unique(keys).tolist()
    order = np.lexsort((events == 0, durations))  # the model's presorted populations
    again = grouped_incidence(
        keys[order], durations[order], events[order], horizons, time_sorted=True
    )
    assert np.allclose(again[2], table) and again[1].tolist() == counts.tolist()
    for key, count, values in zip(found.tolist(), counts.tolist(), table.tolist(), strict=True):
        mine = keys == key
        assert count == mine.sum()
        assert values == pytest.approx(
            cumulative_incidence(durations[mine], events[mine], horizons), abs=1e-9
        )


@pytest.mark.parametrize("stage", ["qualification", "proposal"])
def test_the_learned_probability_of_a_stage_is_the_win_rate_of_the_deals_that_reached_it(stage):
    deals = synthetic(1500, seed=3)
    last_close = max(d.closed_at for d in deals)
    model = WinModel(deals, as_of=last_close, start=last_close, end=FOREVER,
                     settings=ModelSettings(levels=("team",)))  # fmt: skip
    reached = _reached(deals, stage)
    assert model.cell(stage, 0).value == pytest.approx(
        sum(d.outcome == "won" for d in reached) / len(reached), abs=1e-12
    )
    team0 = [d for d in reached if d.team == "team0"]
    assert model.cell(stage, 0, ("team0",)).raw == pytest.approx(
        sum(d.outcome == "won" for d in team0) / len(team0), abs=1e-12
    )


def test_young_open_deals_are_censored_not_counted_as_lost():
    deals = synthetic(4000, seed=5, win=0.4, mean_days=40.0)
    as_of = 300.0
    known = [k for d in deals if (k := known_at(d, as_of)) is not None]
    assert sum(d.outcome == "open" for d in known) > 150
    truth = np.mean([d.outcome == "won" for d in deals if d.created <= as_of])
    model = WinModel(
        known, as_of=as_of, start=as_of, end=FOREVER, settings=ModelSettings(levels=())
    )
    learned = model.cell("qualification", 0).value
    counted_lost = np.mean([d.outcome == "won" for d in known])
    assert learned == pytest.approx(truth, abs=0.025)
    assert counted_lost < truth - 0.03  # what counting the open deals as lost would say


def test_a_thin_segment_is_pulled_toward_its_parent_by_the_pseudo_count():
    deals = [won_deal(i, float(i), won=i + 10.0, team="big") for i in range(30)]
    deals += [lost_deal(i, float(i), lost=i + 10.0, team="big") for i in range(70)]
    deals += [won_deal(100 + i, float(i), won=i + 5.0, team="small") for i in range(3)]
    settings = ModelSettings(levels=("team",), pseudo_count=20.0)
    model = WinModel(deals, as_of=500.0, start=500.0, end=FOREVER, settings=settings)
    parent = model.cell("qualification", 0).value
    assert parent == pytest.approx(33 / 103)
    small = model.cell("qualification", 0, ("small",))
    assert small.raw == pytest.approx(1.0) and small.n == 3
    assert small.value == pytest.approx((3 * 1.0 + 20 * parent) / 23)
    big = model.cell("qualification", 0, ("big",))
    assert big.value == pytest.approx((100 * 0.3 + 20 * parent) / 120)
    assert model.cell("qualification", 0, ("unseen",)).value == parent
    unshrunk = WinModel(deals, as_of=500.0, start=500.0, end=FOREVER,
                        settings=ModelSettings(levels=("team",), pseudo_count=0.0))  # fmt: skip
    assert unshrunk.cell("qualification", 0, ("small",)).value == pytest.approx(1.0)


def test_the_fixed_table_sets_how_likely_and_the_history_only_when():
    # Half the wins come within 10 days, half after 100.
    deals = [won_deal(i, 0.0, won=5.0 if i % 2 else 150.0) for i in range(10)]
    deals += [lost_deal(i, 0.0, lost=20.0) for i in range(10)]
    settings = ModelSettings(levels=(), fixed={"qualification": 0.8})
    soon = WinModel(deals, as_of=0.0, start=0.0, end=30.0, settings=settings)
    # Learned timing (as if all these deals were still young at day 0): F(30) / F(forever) = 1/2.
    learned = WinModel(deals, as_of=500.0, start=500.0, end=530.0, settings=settings)
    assert learned.cell("qualification", 0).value == pytest.approx(0.8 * 0.5)
    assert soon.cell("qualification", 0).weight == float("inf")


def test_an_open_deal_is_judged_by_its_stage_and_its_age_in_it():
    deals = [won_deal(i, 0.0, proposal=2.0, won=4.0) for i in range(5)]
    deals += [lost_deal(i, 0.0, proposal=2.0, lost=40.0) for i in range(5)]
    deals.append(open_deal(1, 90.0, stage="proposal", entered=95.0))
    model = WinModel(
        deals, as_of=100.0, start=100.0, end=FOREVER, settings=ModelSettings(levels=())
    )
    cell = model.estimate(deals[-1])
    assert (cell.stage, model.settings.bands[cell.band]) == ("proposal", 3.0)
    # Still in proposal 3 days in: the quick winners have left, only the losers stay.
    assert cell.value < model.cell("proposal", 0).value
