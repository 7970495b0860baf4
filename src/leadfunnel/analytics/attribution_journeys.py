"""Journeys: the touches of each lead (or account) before its conversion, as flat numpy arrays.

A million leads with five million touches do not fit in Python objects; every model works
on columns instead. Touches are sorted by journey, then time; ``touch_journey[i]`` is the
journey of touch ``i``; per journey there is its conversion time (NaN: not converted), its
value (1, or the won revenue), and the anchor times the position-based models use: the
lead's creation and the opportunity's creation. Times are seconds since the epoch (UTC).

:func:`window` keeps the touches a question may credit: at or before the conversion (for a
journey that has not converted: up to its last touch) and inside the lookback; journeys
left without a touch drop out, and the converted ones among them are counted as
*unattributed* rather than silently lost.

>>> j = journeys(journey=[0, 0, 1], at=[1.0, 5.0, 2.0], channel=[0, 1, 0], campaign=[0, 0, 0],
...              channels=["ads", "web"], campaigns=["(none)"], converted_at=[4.0, None])
>>> kept, unattributed = window(j, lookback_seconds=None)
>>> kept.touch_at.tolist(), kept.converted.tolist(), unattributed
([1.0, 2.0], [True, False], (0, 0.0))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

__all__ = [
    "Floats",
    "Ints",
    "Journeys",
    "by_account",
    "converted_only",
    "journeys",
    "normalise",
    "per_channel_shares",
    "window",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Journeys:
    """Per journey (length n) and per touch (length m) columns; see the module docstring."""

    conversion_at: Floats
    value: Floats
    lead_at: Floats
    opportunity_at: Floats
    touch_journey: Ints
    touch_at: Floats
    touch_channel: Ints
    touch_campaign: Ints
    channels: tuple[str, ...]
    campaigns: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.conversion_at)

    @cached_property
    def converted(self) -> Bools:
        return ~np.isnan(self.conversion_at)

    @cached_property
    def counts(self) -> Ints:
        """Touches per journey."""
        return np.bincount(self.touch_journey, minlength=self.size).astype(np.int64)

    @cached_property
    def starts(self) -> Ints:
        """Index of each journey's first touch (meaningful where ``counts`` > 0)."""
        return (np.cumsum(self.counts) - self.counts).astype(np.int64)

    @cached_property
    def ends(self) -> Ints:
        """Index of each journey's last touch (meaningful where ``counts`` > 0)."""
        return self.starts + self.counts - 1


def _floats(values: Sequence[float | None] | Floats | None, n: int) -> Floats:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _by_journey_then_time(journey: Ints, at: Floats) -> Ints:
    """The order of touches by (journey, time): one key of journey and time rank, two
    plain sorts (a two-key ``lexsort`` of five million is four times slower)."""
    m = len(at)
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(at, kind="stable")] = np.arange(m)
    return np.argsort(journey * max(m, 1) + rank, kind="stable").astype(np.int64)


def journeys(
    *,
    journey: Sequence[int] | Ints,
    at: Sequence[float] | Floats,
    channel: Sequence[int] | Ints,
    campaign: Sequence[int] | Ints,
    channels: Sequence[str],
    campaigns: Sequence[str],
    converted_at: Sequence[float | None] | Floats,
    value: Sequence[float] | Floats | None = None,
    lead_at: Sequence[float | None] | Floats | None = None,
    opportunity_at: Sequence[float | None] | Floats | None = None,
) -> Journeys:
    """Build :class:`Journeys` from unsorted touch columns (sorted here by journey, time)."""
    n = len(converted_at)
    j, t = np.asarray(journey, dtype=np.int64), np.asarray(at, dtype=np.float64)
    order = _by_journey_then_time(j, t)
    return Journeys(
        conversion_at=_floats(converted_at, n),
        value=np.ones(n) if value is None else np.asarray(value, dtype=np.float64),
        lead_at=_floats(lead_at, n),
        opportunity_at=_floats(opportunity_at, n),
        touch_journey=j[order],
        touch_at=t[order],
        touch_channel=np.asarray(channel, dtype=np.int64)[order],
        touch_campaign=np.asarray(campaign, dtype=np.int64)[order],
        channels=tuple(channels),
        campaigns=tuple(campaigns),
    )


def _subset(j: Journeys, keep_journeys: Bools, keep_touches: Bools) -> Journeys:
    """The kept journeys (renumbered in order) with their kept touches."""
    renumber = np.cumsum(keep_journeys) - 1
    touch_journey = renumber[j.touch_journey[keep_touches]]
    idx = np.flatnonzero(keep_journeys)
    return replace(
        j,
        conversion_at=j.conversion_at[idx],
        value=j.value[idx],
        lead_at=j.lead_at[idx],
        opportunity_at=j.opportunity_at[idx],
        touch_journey=touch_journey.astype(np.int64),
        touch_at=j.touch_at[keep_touches],
        touch_channel=j.touch_channel[keep_touches],
        touch_campaign=j.touch_campaign[keep_touches],
    )


def window(j: Journeys, *, lookback_seconds: float | None) -> tuple[Journeys, tuple[int, float]]:
    """Touches at or before the conversion and within the lookback; journeys that keep a
    touch; and (conversions left without a touch, their value)."""
    jt = j.touch_journey
    end = np.where(j.converted, j.conversion_at, np.inf)
    if len(jt) and not j.converted.all():  # an open journey ends at its last touch
        last = np.where(j.counts > 0, j.touch_at[np.clip(j.ends, 0, None)], -np.inf)
        end = np.where(j.converted, end, last)
    ends = end[jt]
    keep = j.touch_at <= ends
    if lookback_seconds is not None:
        keep &= j.touch_at >= ends - lookback_seconds
    touched = np.bincount(jt[keep], minlength=j.size) > 0
    lost = j.converted & ~touched
    unattributed = (int(lost.sum()), float(j.value[lost].sum()))
    return _subset(j, touched, keep), unattributed


def converted_only(j: Journeys) -> Journeys:
    """The converted journeys (what rule-based models credit; data-driven ones need all)."""
    return _subset(j, j.converted, j.converted[j.touch_journey])


def by_account(j: Journeys, accounts: Sequence[str], *, add_values: bool) -> Journeys:
    """One journey per account (``accounts[i]``: journey i's account): its leads' touches
    together; converted when its first lead converts; its lead-creation and
    opportunity-creation anchors are the earliest of its leads'. It is worth the sum of its
    converted leads' values with ``add_values`` (won revenue), else 1 (one conversion)."""
    names, group = np.unique(np.asarray(accounts, dtype=object), return_inverse=True)
    k = len(names)

    def earliest(values: Floats) -> Floats:
        out = np.full(k, np.inf)
        np.minimum.at(out, group, np.where(np.isnan(values), np.inf, values))
        return np.where(np.isinf(out), np.nan, out)

    value = (
        np.bincount(group, weights=np.where(j.converted, j.value, 0.0), minlength=k)
        if add_values
        else np.ones(k)
    )
    return journeys(
        journey=group[j.touch_journey],
        at=j.touch_at,
        channel=j.touch_channel,
        campaign=j.touch_campaign,
        channels=j.channels,
        campaigns=j.campaigns,
        converted_at=earliest(j.conversion_at),
        value=np.asarray(value, dtype=np.float64),
        lead_at=earliest(j.lead_at),
        opportunity_at=earliest(j.opportunity_at),
    )


def normalise(j: Journeys, weight: Floats) -> Floats:
    """Scale each journey's touch weights to sum to 1; a journey with none shares evenly."""
    jt = j.touch_journey
    total = np.bincount(jt, weights=weight, minlength=j.size)
    empty = total <= 0
    if empty.any():
        weight = np.where(empty[jt], 1.0, weight)
        total = np.where(empty, j.counts, total)
    return np.asarray(weight / total[jt], dtype=np.float64)


def per_channel_shares(j: Journeys, channel_weight: Floats) -> Floats:
    """Shares from a weight per (journey, channel), ``channel_weight[i]`` given at every touch
    ``i`` of that channel in that journey: each channel present earns its weight once,
    split evenly over its touches there (so campaigns inherit their channel's credit)."""
    pair = j.touch_journey * max(len(j.channels), 1) + j.touch_channel
    _, inverse, count = np.unique(pair, return_inverse=True, return_counts=True)
    repeats = count[inverse.ravel()]
    weight = channel_weight / repeats
    empty = np.bincount(j.touch_journey, weights=weight, minlength=j.size) <= 0
    # a journey whose channels all weigh nothing: its channels share evenly
    return normalise(j, np.where(empty[j.touch_journey], 1.0 / repeats, weight))
