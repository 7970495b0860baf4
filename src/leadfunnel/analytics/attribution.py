"""Rule-based attribution: how much of each conversion every touch before it earns.

Every model returns **shares**, one per touch, that sum to exactly 1 within each journey
(up to float rounding); a journey's credit in conversions is its shares, in revenue its
shares times its value. Data-driven models live in :mod:`.attribution_markov` and
:mod:`.attribution_shapley`; :func:`touch_shares` picks the model by name.

**Single touch.** ``first_touch``, ``last_touch`` (the last touch at or before the
conversion) and ``last_non_direct`` (the last touch whose channel is not ``direct`` or
unknown; when every touch is direct, the last touch).

**Position-based**, one function (:func:`position_shares`) for all of them. A touch may
hold *anchor* roles: ``first`` (the first touch), ``lead`` (the last touch at or before
the lead's creation), ``opportunity`` (the last touch at or before the opportunity's
creation), ``last`` (the last touch: the close touch for ``won``). Each role with a
positive weight gives its weight to its touch; the other touches are the *middle* and
share the middle weight evenly. Then the journey's weights are scaled to sum to 1, which
is the documented way to redistribute what has no touch:

* anchors that coincide on one touch add up on it (a lone touch gets everything);
* a role without a touch (the opportunity not created by the conversion, no touch before
  the lead's creation) and the middle weight when there is no middle touch are spread over
  the touches that are there, in proportion to their weights;
* if nothing is left with a weight (custom weights on absent roles only), touches share
  evenly.

Worked example, W-shaped (30/30/30/10) over touches A (first), B (created the lead),
C, D, E (created the opportunity), F: A 0.3, B 0.3, E 0.3, C, D, F 0.1/3 each. With only
A (first and lead creation) and E: A 0.6 and E 0.3 of 0.9: A 2/3, E 1/3.

**Time decay.** A touch ``t`` days before the conversion weighs ``2 ** (-t / half_life)``
(default half-life 7 days); weights are scaled to sum to 1. Touches 0, 7 and 14 days before:
4/7, 2/7, 1/7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadfunnel.analytics.attribution_journeys import Floats, Ints, Journeys, normalise
from leadfunnel.analytics.attribution_markov import markov_shares
from leadfunnel.analytics.attribution_shapley import shapley_shares
from leadfunnel.analytics.attribution_spec import AttributionSpec, PositionWeights

__all__ = [
    "DIRECT_CHANNELS",
    "GroupCredit",
    "credit_by_group",
    "first_touch_shares",
    "last_non_direct_shares",
    "last_touch_shares",
    "position_shares",
    "time_decay_shares",
    "touch_shares",
]

#: Channels ``last_non_direct`` passes over: the website visited directly, or no channel.
DIRECT_CHANNELS = ("direct", "(none)")
_DAY = 86_400.0


def _single(j: Journeys, picked: Ints) -> Floats:
    shares = np.zeros(len(j.touch_journey))
    shares[picked] = 1.0
    return shares


def first_touch_shares(j: Journeys) -> Floats:
    return _single(j, j.starts)


def last_touch_shares(j: Journeys) -> Floats:
    return _single(j, j.ends)


def last_non_direct_shares(j: Journeys) -> Floats:
    direct = np.isin(np.asarray(j.channels, dtype=object), DIRECT_CHANNELS)
    index = np.where(direct[j.touch_channel], -1, np.arange(len(j.touch_journey)))
    last = np.maximum.reduceat(index, j.starts) if len(index) else index
    return _single(j, np.where(last >= j.starts, last, j.ends))


def _touch_at_or_before(j: Journeys, times: Floats) -> tuple[Ints, np.ndarray]:
    """Per journey, its last touch at or before ``times`` (NaN: never), and whether it has one."""
    before = np.bincount(
        j.touch_journey, weights=j.touch_at <= times[j.touch_journey], minlength=j.size
    ).astype(np.int64)
    return j.starts + before - 1, before > 0


def position_shares(j: Journeys, weights: PositionWeights) -> Floats:
    """Shares under anchor and middle weights (see the module docstring)."""
    m, jt = len(j.touch_journey), j.touch_journey
    everyone = np.ones(j.size, dtype=bool)
    lead, has_lead = _touch_at_or_before(j, j.lead_at)
    opportunity, has_opportunity = _touch_at_or_before(j, j.opportunity_at)
    roles = (
        (weights.first, j.starts, everyone),
        (weights.lead, lead, has_lead),
        (weights.opportunity, opportunity, has_opportunity),
        (weights.last, j.ends, everyone),
    )
    weight, anchor = np.zeros(m), np.zeros(m, dtype=bool)
    for share, touch, present in roles:
        if share > 0:
            picked = touch[present]  # one touch per journey: no repeated index
            weight[picked] += share
            anchor[picked] = True
    if weights.middle > 0:
        middle = ~anchor
        in_middle = np.bincount(jt[middle], minlength=j.size)
        weight[middle] += weights.middle / in_middle[jt[middle]]
    return normalise(j, weight)


def time_decay_shares(j: Journeys, half_life_days: float) -> Floats:
    """Shares halving every ``half_life_days`` before the conversion (the journey's last
    touch stands in for it when there is none); relative to the newest touch, so old
    journeys do not underflow to zero."""
    jt = j.touch_journey
    end = np.where(j.converted, j.conversion_at, j.touch_at[j.ends] if len(jt) else 0.0)
    age = (end[jt] - j.touch_at) / (half_life_days * _DAY)
    return normalise(j, np.exp2(-(age - age[j.ends][jt])))


def touch_shares(j: Journeys, spec: AttributionSpec) -> Floats:
    """Each touch's share of its journey's conversion under ``spec.model``.

    Rule-based models need only converted journeys; data-driven ones learn from all and
    return zero shares on journeys that did not convert."""
    name = spec.model
    if name == "markov":
        return markov_shares(j, order=spec.order).shares
    if name == "shapley":
        return shapley_shares(j)
    if name == "first_touch":
        return first_touch_shares(j)
    if name == "last_touch":
        return last_touch_shares(j)
    if name == "last_non_direct":
        return last_non_direct_shares(j)
    if name == "time_decay":
        return time_decay_shares(j, spec.half_life_days)
    assert spec.weights is not None, f"{name} is position-based and needs weights"
    return position_shares(j, spec.weights)


@dataclass(frozen=True)
class GroupCredit:
    """What one channel or campaign earned: conversions and revenue (fractions add up)."""

    group: str
    conversions: float
    revenue: float


def credit_by_group(j: Journeys, shares: Floats, by: str) -> list[GroupCredit]:
    """Converted journeys' shares summed per channel or campaign, most conversions first."""
    codes, names = (
        (j.touch_channel, j.channels) if by == "channel" else (j.touch_campaign, j.campaigns)
    )
    counted = shares * j.converted[j.touch_journey]
    conversions = np.bincount(codes, weights=counted, minlength=len(names))
    revenue = np.bincount(codes, weights=counted * j.value[j.touch_journey], minlength=len(names))
    credits = [
        GroupCredit(name, float(conversions[i]), float(revenue[i]))
        for i, name in enumerate(names)
        if conversions[i] > 0 or revenue[i] > 0
    ]
    return sorted(credits, key=lambda c: (-c.conversions, c.group))
