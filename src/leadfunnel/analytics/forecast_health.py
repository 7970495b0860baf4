"""Deal health: open deals that a forecast should not take at face value, per rep.

Three signs, each from facts the store keeps:

* **slipped**: the expected close date has passed and the deal is still open (the store
  keeps the current date only, so a deal moved out and back again is not counted);
* **stagnant**: longer in its current stage than 75 % of the finished stays in that stage
  (the stage's historical p75, from the stage history known at the as-of moment);
* **no next step**: nobody wrote down what happens next.

A stage with fewer than :data:`MIN_STAYS` finished stays has no p75 yet and flags nothing.

Example: finished proposal stays of 5, 10, 20 and 40 days (and more) put p75 near 25 days;
a deal 31 days in proposal is stagnant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_data import Deal, day_time

__all__ = [
    "MIN_STAYS",
    "DealHealth",
    "RepHealth",
    "deal_health",
    "p75_of",
    "rep_health",
    "stage_p75",
]

MIN_STAYS = 5


def stage_p75(deals: Sequence[Deal]) -> dict[str, float]:
    """Per stage: the 75th percentile of finished stays in it, in days."""
    stays: dict[str, list[float]] = defaultdict(list)
    for deal in deals:
        for (at, stage), (left, _) in zip(deal.history, deal.history[1:], strict=False):
            stays[stage].append(left - at)
    return p75_of(stays)


def p75_of(stays: Mapping[str, Sequence[float] | npt.NDArray[np.float64]]) -> dict[str, float]:
    """Per stage with at least :data:`MIN_STAYS` finished stays, their 75th percentile."""
    return {s: float(np.percentile(v, 75)) for s, v in stays.items() if len(v) >= MIN_STAYS}


@dataclass(frozen=True)
class DealHealth:
    """One open deal with at least one sign, and the signs."""

    id: str
    owner: str
    stage: str
    amount: float
    days_in_stage: float
    stage_p75_days: float | None
    slipped_days: float | None
    stagnant: bool
    missing_next_step: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "owner": self.owner, "stage": self.stage, "amount": self.amount,
                "days_in_stage": round(self.days_in_stage, 1), "stage_p75_days": self.stage_p75_days,
                "slipped_days": self.slipped_days, "stagnant": self.stagnant,
                "missing_next_step": self.missing_next_step,
                "reasons": list(self.reasons)}  # fmt: skip


def _day(days: float) -> str:
    """``f"{day_time(days):%Y-%m-%d}"``, without strftime (which dominated this loop)."""
    at = day_time(days)
    return at.date().isoformat() if at.year >= 1000 else f"{at:%Y-%m-%d}"


def deal_health(
    deals: Sequence[Deal], *, as_of: float, p75: dict[str, float] | None = None
) -> list[DealHealth]:
    """The open deals (``deals`` as known at ``as_of``) showing a sign, worst first (most
    signs, then largest amount). ``p75``: :func:`stage_p75` of ``deals``, when known."""
    if p75 is None:
        p75 = stage_p75(deals)
    found = []
    for deal in deals:
        if deal.outcome != "open":
            continue
        age = as_of - deal.stage_entered
        limit = p75.get(deal.stage)
        reasons = []
        slipped = None
        if deal.expected_close is not None and deal.expected_close + 1 <= as_of:
            slipped = float(np.floor(as_of - deal.expected_close))
            reasons.append(f"expected close {_day(deal.expected_close)} has passed")
        stagnant = limit is not None and age > limit
        if stagnant:
            reasons.append(f"{age:.0f} days in {deal.stage} (p75 {limit:.0f})")
        missing = not (deal.next_step and deal.next_step.strip())
        if missing:
            reasons.append("no next step")
        if reasons:
            found.append(DealHealth(deal.id, deal.owner, deal.stage, deal.amount, age,
                                    None if limit is None else round(limit, 1), slipped, stagnant, missing,
                                    tuple(reasons)))  # fmt: skip
    return sorted(found, key=lambda h: (-len(h.reasons), -h.amount, h.id))


@dataclass(frozen=True)
class RepHealth:
    """Per rep: open deals, and how many show each sign."""

    owner: str
    open_deals: int
    slipped: int
    stagnant: int
    missing_next_step: int

    def to_dict(self) -> dict[str, object]:
        return {"owner": self.owner, "open_deals": self.open_deals, "slipped": self.slipped,
                "stagnant": self.stagnant, "missing_next_step": self.missing_next_step}  # fmt: skip


def rep_health(deals: Sequence[Deal], flagged: Sequence[DealHealth]) -> list[RepHealth]:
    """Per owner of an open deal, the counts of each sign."""
    open_count: dict[str, int] = defaultdict(int)
    for deal in deals:
        if deal.outcome == "open":
            open_count[deal.owner] += 1
    signs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for h in flagged:
        counts = signs[h.owner]
        counts[0] += h.slipped_days is not None
        counts[1] += h.stagnant
        counts[2] += h.missing_next_step
    return [RepHealth(owner, n, *signs[owner]) for owner, n in sorted(open_count.items())]
