"""The forecast's column-wise shortcuts give what the per-deal code gives, to the last digit:
the rows built when read, the health and roll-ups from arrays, the presorted estimator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from leadfunnel.analytics.forecast import run_forecast
from leadfunnel.analytics.forecast_categories import category_rank, roll_up, roll_up_arrays
from leadfunnel.analytics.forecast_data import day_time
from leadfunnel.analytics.forecast_health import (
    deal_health,
    open_deal_health,
    rep_health,
    stage_p75,
)
from leadfunnel.analytics.forecast_incidence import time_order
from leadfunnel.analytics.forecast_model import grouped_incidence
from leadfunnel.analytics.forecast_rows import Rows, close_dates
from leadfunnel.analytics.forecast_spec import forecast_spec, parse_period
from tests.forecast_data import synthetic

MAY = parse_period("1970-05")


def _with_forecast_inputs(seed: int):
    """Synthetic deals with expected closes, calls and next steps of every kind."""
    rng = np.random.default_rng(seed)
    deals = synthetic(1500, seed=seed)
    calls = (None, "pipeline", "best_case", "commit", "omitted")
    steps = (None, "", "  ", "call")
    return [
        replace(d, expected_close=None if i % 7 == 0 else float(rng.uniform(100, 160)),
                category=calls[i % 5], next_step=steps[i % 4])
        for i, d in enumerate(deals)
    ]  # fmt: skip


def test_rows_are_built_when_read_and_compare_as_sequences():
    built = []
    rows = Rows(4, lambda i: built.append(i) or i * i)
    assert built == [] and len(rows) == 4
    assert (rows[1], rows[-1], rows[1:3], list(rows)) == (1, 9, [1, 4], [0, 1, 4, 9])
    assert rows == [0, 1, 4, 9] and rows != [0, 1, 4] and rows != "0149"
    with pytest.raises(IndexError):
        rows[4]


@pytest.mark.parametrize("by", [None, "rep"])
def test_the_json_rows_are_the_rows_read_one_by_one(by):
    deals = _with_forecast_inputs(21)
    forecast = run_forecast(
        deals, forecast_spec(period=MAY, as_of=MAY.start + 10, now=400.0, by=by, draws=500)
    )
    data = forecast.to_dict()
    assert data["deals"] == [d.to_dict() for d in forecast.deals] and len(forecast.deals) > 20
    assert data["health"] == [h.to_dict() for h in forecast.health] and len(forecast.health) > 10


def test_health_from_arrays_is_the_per_deal_health():
    as_of = 130.0
    known = [d for d in _with_forecast_inputs(22) if d.created <= as_of]
    known = [replace(d, history=tuple(h for h in d.history if h[0] <= as_of)) for d in known]
    open_deals = [d for d in known if d.outcome == "open"]
    p75 = stage_p75(known)
    rows, reps = open_deal_health(
        open_deals, stage=[d.stage for d in open_deals],
        entered=np.array([d.stage_entered for d in open_deals]), as_of=as_of, p75=p75,
    )  # fmt: skip
    expected = deal_health(known, as_of=as_of, p75=p75)
    assert list(rows) == expected and rows.to_dicts() == [h.to_dict() for h in expected]
    assert reps == rep_health(known, expected)
    assert {h.reasons.count("no next step") for h in expected} == {0, 1}


def test_roll_ups_from_arrays_add_up_as_the_per_deal_roll_up():
    rng = np.random.default_rng(3)
    calls = [(None, "pipeline", "best_case", "commit", "other")[i] for i in rng.integers(0, 5, 500)]
    amount, p = rng.lognormal(9, 1, 500), rng.uniform(0, 1, 500)
    by_deal = roll_up(zip(calls, amount.tolist(), p.tolist(), strict=True), 1234.5, 3)
    ranks = np.array([category_rank(c) for c in calls])
    assert roll_up_arrays(ranks, amount, p, 1234.5, 3) == by_deal


def test_close_dates_are_the_dates_of_day_time_even_a_microsecond_before_midnight():
    days = np.array([0.0, 19_000.25, 19_000.9999999999, 19_001 - 1e-12, np.nan, -0.5, 20_000.0])
    expected = [None if np.isnan(d) else day_time(float(d)).date().isoformat() for d in days]
    assert close_dates(days) == expected


@pytest.mark.parametrize("seed", range(5))
def test_the_time_order_is_the_lexsort_and_small_codes_give_the_same_estimates(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    durations = rng.integers(0, 40, n).astype(np.float64) / 4  # many ties
    durations[::50] = -0.0
    events = rng.choice(np.array([0, 1, 2], dtype=np.int8), n)
    order = time_order(durations, events)
    assert order.tolist() == np.lexsort((events == 0, durations)).tolist()
    keys = rng.integers(0, 9, n)[order]
    t, e = durations[order], events[order]
    horizons = [0.0, 2.5, 7.0, float("inf")]
    wide = grouped_incidence(keys.astype(np.int64), t, e, horizons, time_sorted=True)
    for small in (keys.astype(np.uint16), np.zeros(n, dtype=np.uint8)):
        found, counts, table = grouped_incidence(small, t, e, horizons, time_sorted=True)
        if small.any():
            assert found.tolist() == wide[0].tolist() and counts.tolist() == wide[1].tolist()
            assert np.array_equal(table, wide[2])
        else:
            one = grouped_incidence(np.zeros(n, dtype=np.int64), t, e, horizons, time_sorted=True)
            assert np.array_equal(table, one[2]) and counts.tolist() == [n]
