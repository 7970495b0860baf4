"""How much wider than independent deals the range must be, learned from past periods.

Deals are not independent coin flips: a month with a strong campaign, a holiday, a rep on
leave or a few large deals the model misjudges moves many of them together. The
simulation's Bernoulli draws miss that, so their range comes out too narrow. This module
measures by how much, from the past, using only what is known at the as-of moment:

for each of the last ``k`` complete periods before it, the forecast that could have been
made at the period's start (its expected bookings ``E`` and their variance ``V`` under
independent deals and Poisson new pipeline) is compared with what was booked ``A``:
``z = (A - E) / sqrt(V)``. Were the model's spread right, 80 % of the ``|z|`` would lie
below 1.2816 (the normal P10-P90 half-width). The **widening** is how much it must grow for
that to hold for the next period too (split-conformal calibration of the interval: the
``ceil((n + 1) * 0.8)``-th smallest of the ``n`` past scores ``q``, which a new score stays
under with probability at least 80 % when periods are exchangeable)::

    c = max(1, q / 1.2816)

The simulation then multiplies every win probability and the new-deal rate of a draw by a
common period factor ``F`` (lognormal, mean 1) whose sigma makes the variance ``c^2 V``:
``sigma^2 = (c^2 - 1) V / E^2`` (:func:`shock_sigma`), at most 1. With fewer than three scorable past
periods, ``c = 1`` (no widening). Example: twelve past ``|z|`` whose 11th smallest is 1.6
(``ceil(13 * 0.8) = 11``) give ``c = 1.6 / 1.2816 = 1.25``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_data import Deal
from leadfunnel.analytics.forecast_model import DealArrays, ModelSettings, WinModel
from leadfunnel.analytics.forecast_runrate import new_pipeline_arrays
from leadfunnel.analytics.forecast_spec import Period

__all__ = ["period_widening", "scored_moments", "shock_sigma"]

_MIN_PERIODS = 3
#: The half-width of the normal P10-P90 interval, in standard deviations.
_HALF_WIDTH = 1.2816
_COVERAGE = 0.8
#: Beyond this a lognormal factor is mostly near zero with rare huge values: a history that
#: misses by that much needs a better model, not a wider range.
_MAX_SIGMA = 1.0


def _sequential_sum(values: npt.NDArray[np.float64]) -> float:
    """``values`` added left to right, as a Python loop would (a cumulative sum is not
    pairwise), so the figures do not depend on how they were computed."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def scored_moments(deals: Sequence[Deal], period: Period, settings: ModelSettings,
                   lookback: float, arrays: DealArrays | None = None) -> tuple[float, float]:  # fmt: skip
    """Expected bookings of ``period`` as of its start, and their variance under the
    independent-deals model (``deals`` may be known up to any later moment; ``arrays``:
    their :class:`DealArrays`, which the fit masks to the period's start).

    Works on the arrays throughout: the deals as known at the start
    (:meth:`DealArrays.state_at`, what :func:`~.forecast_data.known_at` gives one by one), one
    estimate per distinct cell (:meth:`WinModel.estimate_many`)."""
    if arrays is None:
        arrays = DealArrays(deals, settings.levels)
    states = arrays.state_at(period.start)
    model = WinModel(deals, as_of=period.start, start=period.start, end=period.end, settings=settings,
                     arrays=arrays)  # fmt: skip
    rows = np.flatnonzero(states.exists & (states.outcome == 0))
    cells, inverse = model.estimate_many(deals, rows, states)
    p = np.array([c.value for c in cells], dtype=np.float64)[inverse]
    a = arrays.amount[rows]
    expected = _sequential_sum(a * p)
    variance = _sequential_sum(a**2 * p * (1 - p))
    known = np.flatnonzero(states.exists)
    new = new_pipeline_arrays(
        created=arrays.created[known], closed=states.closed[known], outcome=states.outcome[known],
        amount=arrays.amount[known], group=np.zeros(len(known), dtype=np.int64),
        as_of=period.start, start=period.start, end=period.end, groups=1, lookback=lookback,
    )  # fmt: skip
    pool = new.simulation.amounts[0]
    second = float((pool**2).mean()) if len(pool) else 0.0
    return expected + new.won_amount[0], variance + new.won[0] * second


def period_widening(deals: Sequence[Deal], *, before: Period, as_of: float, periods: int,
                    settings: ModelSettings, lookback: float, arrays: DealArrays | None = None) -> float:  # fmt: skip
    """The widening ``c`` (at least 1), from up to ``periods`` complete periods that ended
    by ``as_of`` and came before ``before`` (``deals`` as known at ``as_of``)."""
    if periods <= 0:
        return 1.0
    if arrays is None:
        arrays = DealArrays(deals, settings.levels)
    now = arrays.state_at(math.inf)  # the deals are known at as_of already
    scores = []
    past = before.previous()
    for _ in range(periods):
        while past.end > as_of:
            past = past.previous()
        expected, variance = scored_moments(deals, past, settings, lookback, arrays)
        with np.errstate(invalid="ignore"):
            won = (now.outcome == 1) & (past.start <= now.closed) & (now.closed < past.end)
        booked = _sequential_sum(arrays.amount[won])
        if expected > 0 and variance > 0:
            scores.append(abs(booked - expected) / math.sqrt(variance))
        past = past.previous()
    if len(scores) < _MIN_PERIODS:
        return 1.0
    # Split-conformal: the ceil((n + 1) * 0.8)-th smallest score covers a new period with
    # probability at least 80 % when periods are exchangeable (the largest, for n < 9).
    rank = min(math.ceil((len(scores) + 1) * _COVERAGE), len(scores))
    return max(1.0, sorted(scores)[rank - 1] / _HALF_WIDTH)


def shock_sigma(widening: float, expected: float, variance: float) -> float:
    """The sigma of the period factor that turns variance ``V`` into ``c^2 V`` for expected
    bookings ``E`` (open deals and new pipeline; what is already won does not vary)."""
    if widening <= 1.0 or expected <= 0:
        return 0.0
    return min(math.sqrt((widening**2 - 1.0) * variance) / expected, _MAX_SIGMA)
