"""New pipeline: deals not yet created at the as-of moment that will be created, and won,
within the period. Their run-rate comes from history.

* **Creation rate** per group ``λ``: deals created in the ``lookback`` days before the
  as-of moment, per day.
* **Time to win** from creation: the cumulative incidence of winning ``F(h)`` over every
  known deal, from its creation (censored while open; ``forecast_model`` explains).
* A deal created on day ``u`` of the period is won within it with probability
  ``F(end - u)``, so the expected count is ``λ ∫ F(end - u) du`` over the part of the period
  after the as-of moment (a sum over days).
* Amounts: the group's deals won in the lookback window within a period's length of their
  creation (as fast as a new deal must be; the company's when the group has fewer than
  five), resampled in the simulation; their mean gives the expected bookings.

Example: 60 deals created in the last 180 days (``λ = 1/3`` a day), a 30-day month ahead,
``F`` rising linearly to 0.3 at 60 days: ``F(30 - u)`` averages 0.075, so ``30 * 1/3 * 0.075
= 0.75`` new deals are expected to be won in the month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_data import Deal
from leadfunnel.analytics.forecast_incidence import cumulative_incidence
from leadfunnel.analytics.forecast_simulation import NewPipeline

__all__ = ["NewPipelineEstimate", "new_pipeline", "new_pipeline_arrays"]

Floats = npt.NDArray[np.float64]

_MIN_POOL = 5


@dataclass(frozen=True)
class NewPipelineEstimate:
    """Per group: deals expected to be created in the period (and their amount), the share
    of them expected to be won in it, and the simulation's inputs."""

    created: list[float]
    created_amount: list[float]
    won: list[float]
    won_amount: list[float]
    simulation: NewPipeline


def new_pipeline(deals: Sequence[Deal], *, as_of: float, start: float, end: float, groups: Sequence[str],
                 group_of: Callable[[Deal], str], lookback: float = 180.0) -> NewPipelineEstimate:  # fmt: skip
    """Expected new deals per group (``deals`` as known at ``as_of``)."""
    index = {g: i for i, g in enumerate(groups)}
    n = len(deals)
    closed = np.fromiter(
        (np.nan if d.closed_at is None else d.closed_at for d in deals), np.float64, n
    )
    return new_pipeline_arrays(
        created=np.fromiter((d.created for d in deals), np.float64, n),
        closed=closed,
        outcome=np.fromiter(({"won": 1, "lost": 2}.get(d.outcome, 0) for d in deals), np.int8, n),
        amount=np.fromiter((d.amount for d in deals), np.float64, n),
        group=np.fromiter((index.get(group_of(d), -1) for d in deals), np.int64, n),
        as_of=as_of, start=start, end=end, groups=len(groups), lookback=lookback,
    )  # fmt: skip


def new_pipeline_arrays(*, created: Floats, closed: Floats, outcome: npt.NDArray[np.int8],
                        amount: Floats, group: npt.NDArray[np.int64], as_of: float, start: float,
                        end: float, groups: int, lookback: float = 180.0) -> NewPipelineEstimate:  # fmt: skip
    """:func:`new_pipeline` of deals given as arrays: creation, close (NaN: open), outcome
    (0 open, 1 won, 2 lost), amount and group index (-1: in no group), in deal order."""
    first = max(start, as_of)
    days = np.arange(first, end, 1.0) + 0.5 if end > first else np.zeros(0)
    days = np.minimum(days, end)
    durations = np.where(np.isnan(closed), as_of, closed) - created
    curve = cumulative_incidence(durations, outcome, list(end - days)) if len(days) else []
    span = max(end - first, 0.0)
    mean_win = float(np.mean(curve)) if len(curve) else 0.0
    grouped = group >= 0
    recent = grouped & (as_of - lookback <= created) & (created < as_of)
    created_count = np.bincount(group[recent], minlength=groups).astype(np.float64)
    created_total = np.bincount(group[recent], weights=amount[recent], minlength=groups)
    # Only deals won as fast as a new one would have to be: big deals take longer, and
    # pricing new wins by every recent win would overstate them.
    with np.errstate(invalid="ignore"):
        fast = (outcome == 1) & (closed >= as_of - lookback) & (closed - created <= span)
    everyone = amount[fast]
    mine = group[fast]
    pools = [everyone[mine == g] for g in range(groups)]
    rate = created_count / lookback
    amounts = [np.array(p if len(p) >= _MIN_POOL else everyone, dtype=np.float64) for p in pools]
    won = rate * span * mean_win
    mean_amount = np.array([float(a.mean()) if len(a) else 0.0 for a in amounts])
    mean_created = np.divide(
        created_total, created_count, out=np.zeros(groups), where=created_count > 0
    )
    return NewPipelineEstimate(
        created=list(rate * span),
        created_amount=list(rate * span * mean_created),
        won=list(won),
        won_amount=list(won * mean_amount),
        simulation=NewPipeline(expected=won, evidence=created_count, amounts=amounts),
    )
