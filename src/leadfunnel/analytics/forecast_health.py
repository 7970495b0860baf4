"""Deal health: open deals that a forecast should not take at face value, per rep.

Three signs, each from facts the store keeps:

* **slipped**: the expected close date has passed and the deal is still open (the store
  keeps the current date only, so a deal moved out and back again is not counted);
* **stagnant**: longer in its current stage than 75 % of the finished stays in that stage
  (the stage's historical p75, from the stage history known at the as-of moment);
* **no next step**: nobody wrote down what happens next.

A stage with fewer than :data:`MIN_STAYS` finished stays has no p75 yet and flags nothing.

:func:`deal_health` and :func:`rep_health` work deal by deal; :func:`open_deal_health`, which
the forecast uses, gives the same from arrays (tested equal), building each row when read.

Example: finished proposal stays of 5, 10, 20 and 40 days (and more) put p75 near 25 days;
a deal 31 days in proposal is stagnant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_data import Deal, day_time
from leadfunnel.analytics.forecast_rows import Rows, close_dates

__all__ = [
    "MIN_STAYS",
    "DealHealth",
    "RepHealth",
    "deal_health",
    "open_deal_health",
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
        return _health_dict(self.id, self.owner, self.stage, self.amount, self.days_in_stage,
                            self.stage_p75_days, self.slipped_days, self.stagnant,
                            self.missing_next_step, self.reasons)  # fmt: skip


def _health_dict(id: str, owner: str, stage: str, amount: float, days_in_stage: float,
                 stage_p75_days: float | None, slipped_days: float | None, stagnant: bool,
                 missing_next_step: bool, reasons: tuple[str, ...]) -> dict[str, object]:  # fmt: skip
    """:meth:`DealHealth.to_dict` of these fields."""
    return {"id": id, "owner": owner, "stage": stage, "amount": amount,
            "days_in_stage": round(days_in_stage, 1), "stage_p75_days": stage_p75_days,
            "slipped_days": slipped_days, "stagnant": stagnant, "missing_next_step": missing_next_step,
            "reasons": list(reasons)}  # fmt: skip


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


def open_deal_health(
    deals: Sequence[Deal], *, stage: Sequence[str], entered: npt.NDArray[np.float64],
    as_of: float, p75: Mapping[str, float],
) -> tuple[Rows[DealHealth], list[RepHealth]]:  # fmt: skip
    """:func:`deal_health` and :func:`rep_health` of the open ``deals`` (as known at
    ``as_of``; ``stage`` and ``entered`` their current stages and when they entered them),
    worked out on arrays: the same rows in the same order, each built when read."""
    n = len(deals)
    age = as_of - entered
    limit = np.array([p75.get(s, np.nan) for s in stage], dtype=np.float64).reshape(n)
    close = np.fromiter(
        (np.nan if c is None else c for c in (d.expected_close for d in deals)), np.float64, n
    )
    with np.errstate(invalid="ignore"):
        slipped = close + 1 <= as_of
        stagnant = age > limit  # NaN: no p75, never stagnant
    steps = [d.next_step for d in deals]
    blank = {s: not (s and s.strip()) for s in set(steps)}
    missing = np.fromiter(map(blank.__getitem__, steps), np.bool_, n)
    order = _worst_first(deals, slipped.astype(np.int64) + stagnant + missing)
    ages, caps = age.tolist(), limit.tolist()
    slip, stag, miss = slipped.tolist(), stagnant.tolist(), missing.tolist()
    floors = np.floor(as_of - close).tolist()
    dates = close_dates(np.where(slipped, close, np.nan), _day)
    rounded = {s: round(v, 1) for s, v in p75.items()}

    def fields(j: int) -> tuple[Any, ...]:
        deal, reasons = deals[j], []
        if slip[j]:
            reasons.append(f"expected close {dates[j]} has passed")
        if stag[j]:
            reasons.append(f"{ages[j]:.0f} days in {stage[j]} (p75 {caps[j]:.0f})")
        if miss[j]:
            reasons.append("no next step")
        return (deal.id, deal.owner, stage[j], deal.amount, ages[j], rounded.get(stage[j]),
                floors[j] if slip[j] else None, stag[j], miss[j], tuple(reasons))  # fmt: skip

    def build(i: int) -> DealHealth:
        return DealHealth(*fields(order[i]))

    def dicts() -> list[dict[str, Any]]:
        return [_health_dict(*fields(j)) for j in order]

    reps = _rep_counts([d.owner for d in deals], slipped, stagnant, missing)
    return Rows(len(order), build, dicts), reps


def _worst_first(deals: Sequence[Deal], signs: npt.NDArray[np.int64]) -> list[int]:
    """The indices of the deals with a sign, most signs first, then the largest amount,
    then by id (as :func:`deal_health` sorts)."""
    flagged = np.flatnonzero(signs > 0)
    ids = [deals[i].id for i in flagged.tolist()]
    by_id = np.empty(len(ids), dtype=np.int64)
    by_id[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    amount = np.fromiter((deals[i].amount for i in flagged.tolist()), np.float64, len(ids))
    found: list[int] = flagged[np.lexsort((by_id, -amount, -signs[flagged]))].tolist()
    return found


def _rep_counts(owners: list[str], *signs: npt.NDArray[np.bool_]) -> list[RepHealth]:
    """Per owner (sorted): open deals, and how many show each sign."""
    names = sorted(set(owners))
    code = np.fromiter(
        map({o: i for i, o in enumerate(names)}.__getitem__, owners), np.int64, len(owners)
    )
    counts = [np.bincount(code, weights=w, minlength=len(names)).astype(np.int64).tolist()
              for w in (None, *signs)]  # fmt: skip
    return [RepHealth(o, *c) for o, *c in zip(names, *counts, strict=True)]
