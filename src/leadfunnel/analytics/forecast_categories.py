"""Forecast categories: the reps' call on their deals, rolled up and held against the model.

A rep files each open deal expected to close in the period as ``pipeline``, ``best_case``
or ``commit`` (no call counts as ``pipeline``); a won deal is ``closed won``. The roll-ups
are cumulative, the way a sales call reads them:

* **closed won**: won in the period so far;
* **commit**: closed won + committed deals;
* **best case**: commit + best-case deals;
* **pipeline**: best case + the rest of the open deals expected to close in the period.

Next to each, the model's expected bookings for the same deals (closed won counts in full),
so "commit 400k, model 250k" shows at a glance. A deal is **flagged** when its call and its
probability of being won in the period disagree:

* ``commit`` below :data:`COMMIT_FLOOR` (the rep is surer than the history);
* ``best_case`` below :data:`BEST_CASE_FLOOR`;
* ``pipeline`` (or no call) at :data:`PIPELINE_CEILING` or above (sandbagging, or a
  forgotten update).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BEST_CASE_FLOOR",
    "COMMIT_FLOOR",
    "PIPELINE_CEILING",
    "ROLLUPS",
    "CategoryRollup",
    "category_disagreement",
    "category_rank",
    "roll_up",
    "roll_up_arrays",
]

COMMIT_FLOOR = 0.4
BEST_CASE_FLOOR = 0.15
PIPELINE_CEILING = 0.6
#: The roll-ups, narrowest first.
ROLLUPS = ("closed_won", "commit", "best_case", "pipeline")
_RANK = {"commit": 1, "best_case": 2, "pipeline": 3}


def category_rank(category: str | None) -> int:
    """The first roll-up (index into :data:`ROLLUPS`) a deal of this call counts in."""
    return _RANK.get(category or "pipeline", 3)


def category_disagreement(category: str | None, probability: float) -> str | None:
    """Why a deal's call and its probability disagree, or None."""
    call = category or "pipeline"
    if call == "commit" and probability < COMMIT_FLOOR:
        return f"commit, but the model gives {probability:.0%} (below {COMMIT_FLOOR:.0%})"
    if call == "best_case" and probability < BEST_CASE_FLOOR:
        return f"best case, but the model gives {probability:.0%} (below {BEST_CASE_FLOOR:.0%})"
    if call == "pipeline" and probability >= PIPELINE_CEILING:
        return f"pipeline, but the model gives {probability:.0%} (at least {PIPELINE_CEILING:.0%})"
    return None


@dataclass(frozen=True)
class CategoryRollup:
    """Cumulative amounts and deal counts per roll-up, with the model's expected bookings
    for the same deals."""

    amounts: dict[str, float]
    deals: dict[str, int]
    model: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return {
            name: {
                "amount": self.amounts[name],
                "deals": self.deals[name],
                "model": self.model[name],
            }
            for name in ROLLUPS
        }


def roll_up(
    open_deals: Iterable[tuple[str | None, float, float]], closed_won: float, closed_deals: int
) -> CategoryRollup:
    """Roll up ``(category, amount, probability)`` of the open deals expected to close in
    the period, on top of what was already won in it."""
    amounts = dict.fromkeys(ROLLUPS, float(closed_won))
    model = dict.fromkeys(ROLLUPS, float(closed_won))
    deals = dict.fromkeys(ROLLUPS, closed_deals)
    for category, amount, probability in open_deals:
        rank = category_rank(category)
        for name in ROLLUPS[rank:]:
            amounts[name] += amount
            model[name] += amount * probability
            deals[name] += 1
    return CategoryRollup(amounts, deals, model)


def roll_up_arrays(
    rank: npt.NDArray[np.int64], amount: npt.NDArray[np.float64],
    probability: npt.NDArray[np.float64], closed_won: float, closed_deals: int,
) -> CategoryRollup:  # fmt: skip
    """:func:`roll_up` of open deals given as arrays (:func:`category_rank`, amount,
    probability, in deal order); each sum adds left to right as :func:`roll_up` does, so
    the figures are the same to the last digit."""
    start = float(closed_won)
    amounts, model, deals = {}, {}, {}
    for k, name in enumerate(ROLLUPS):
        mine = rank <= k
        amounts[name] = _running(start, amount[mine])
        model[name] = _running(start, amount[mine] * probability[mine])
        deals[name] = closed_deals + int(np.count_nonzero(mine))
    return CategoryRollup(amounts, deals, model)


def _running(start: float, values: npt.NDArray[np.float64]) -> float:
    """``start`` plus ``values`` added left to right (a cumulative sum is not pairwise)."""
    return float(np.cumsum(np.concatenate(([start], values)))[-1]) if len(values) else start
