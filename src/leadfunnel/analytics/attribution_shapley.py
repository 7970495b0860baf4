"""Shapley-value attribution over channel sets: each channel's average marginal worth.

The game: the worth ``v(S)`` of a set of channels is the conversion rate of the journeys
(converted or not) whose distinct channels are exactly ``S``; a set never seen is worth 0,
and so is the empty set. A converted journey over channels ``N`` is shared by the Shapley
values of this game played by ``N``::

    phi_c = sum over S in N without c of |S|! (|N| - |S| - 1)! / |N|! * (v(S + c) - v(S))

They sum to ``v(N)``; scaled to sum to 1 they are the journey's shares (a channel present
several times earns once, split over its touches). A negative value (adding the channel
lowered the rate) earns nothing; if no channel has a positive value, the channels share
evenly.

Worked example (docs/concepts/attribution.md): journeys over {A} convert at 0.1, over {B}
at 0.2, over {A, B} at 0.5. For a converted journey over {A, B}:
``phi_A = 1/2 (0.1 - 0) + 1/2 (0.5 - 0.2) = 0.2``, ``phi_B = 1/2 (0.2) + 1/2 (0.5 - 0.1) = 0.3``:
A earns 0.4 of it, B 0.6.

Exact Shapley values cost ``2 ** |N|`` worths per set; journeys over more than
:data:`MAX_SET` channels are refused (attribute by campaign kind or fewer channels).
"""

from __future__ import annotations

from math import factorial

import numpy as np

from leadfunnel.analytics.attribution_journeys import Floats, Ints, Journeys, per_channel_shares
from leadfunnel.domain.errors import ValidationError

__all__ = ["MAX_SET", "channel_sets", "set_shapley", "shapley_shares"]

#: Most distinct channels on one journey the exact computation accepts.
MAX_SET = 16
_MAX_CHANNELS = 62  # one bit each in an int64


def channel_sets(j: Journeys) -> Ints:
    """Each journey's distinct channels as a bit mask (bit c: channel c)."""
    if len(j.channels) > _MAX_CHANNELS:
        raise ValidationError(
            "model", f"shapley handles at most {_MAX_CHANNELS} channels, got {len(j.channels)}"
        )
    bits = np.left_shift(np.int64(1), j.touch_channel.astype(np.int64))
    return np.bitwise_or.reduceat(bits, j.starts) if len(bits) else np.zeros(0, dtype=np.int64)


def set_shapley(members: list[int], worth: dict[int, float]) -> list[float]:
    """Shapley values of ``members`` (channel numbers) in the game ``worth`` (mask -> v)."""
    s = len(members)
    local = np.arange(2**s, dtype=np.int64)
    masks = np.zeros(2**s, dtype=np.int64)
    for k, channel in enumerate(members):
        masks[(local >> k) & 1 == 1] |= np.int64(1) << channel
    v = np.array([worth.get(int(mask), 0.0) for mask in masks])
    size = np.array([bin(x).count("1") for x in range(2**s)])
    weight = np.array([factorial(t) * factorial(s - t - 1) / factorial(s) for t in range(s)])
    values = []
    for k in range(s):
        without = local[(local >> k) & 1 == 0]
        values.append(float(np.sum(weight[size[without]] * (v[without | (1 << k)] - v[without]))))
    return values


def shapley_shares(j: Journeys) -> Floats:
    """Every touch's share of its (converted) journey; see the module docstring."""
    if len(j.touch_journey) == 0:
        return np.zeros(0)
    sets = channel_sets(j)
    seen, which = np.unique(sets, return_inverse=True)
    journeys = np.bincount(which, minlength=len(seen))
    conversions = np.bincount(which, weights=j.converted, minlength=len(seen))
    worth = {
        int(mask): float(c / n) for mask, c, n in zip(seen, conversions, journeys, strict=True)
    }
    table = np.zeros((len(seen), len(j.channels)))
    for row in np.unique(which[j.converted]):
        members = [c for c in range(len(j.channels)) if int(seen[row]) >> c & 1]
        if len(members) > MAX_SET:
            raise ValidationError(
                "model", f"a journey touches {len(members)} channels; shapley handles {MAX_SET}"
            )
        table[row, members] = np.maximum(set_shapley(members, worth), 0.0)
    return per_channel_shares(j, table[which[j.touch_journey], j.touch_channel])
