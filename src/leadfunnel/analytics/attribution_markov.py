"""Markov-chain attribution: a channel's credit is what would be lost without it.

Every journey, converted or not, is a walk ``start -> s1 -> s2 -> ... -> conversion | null``.
A state is the channel of a touch (first order) or the last ``order`` channels up to it
(higher order; shorter at the start of a journey). Counting the observed transitions gives
a chain whose absorbing states are ``conversion`` and ``null``; ``P`` is the probability of
reaching ``conversion`` from ``start``, found by solving ``(I - Q) x = r`` (``Q``: moves
between transient states, ``r``: one-step conversion probabilities; ``P = x[start]``).

The **removal effect** of channel ``c`` is ``1 - P_without_c / P``, where ``P_without_c``
is the same chain with every state holding ``c`` leading to ``null``. Each converted
journey's credit goes to the channels on it in proportion to their removal effects (a
channel present several times earns once, split over its touches); a journey whose
channels all have no effect shares evenly between its channels.

Worked example (docs/concepts/attribution.md, ``tests/unit/test_attribution_markov.py``):
journeys ``A -> B -> conversion``, ``A -> null``, ``B -> conversion``. Transitions:
start -> A 2/3, start -> B 1/3, A -> B 1/2, A -> null 1/2, B -> conversion 1.
``P = 2/3 * 1/2 + 1/3 = 2/3``. Without A: ``P = 1/3``, removal effect 1/2. Without B:
``P = 0``, removal effect 1. The converted journey ``A -> B`` gives A 1/3 and B 2/3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.attribution_journeys import Floats, Ints, Journeys, per_channel_shares
from leadfunnel.domain.errors import ValidationError

__all__ = ["MAX_STATES", "MarkovFit", "markov_shares", "markov_states", "transitions"]

#: The chain is solved densely; more states than this means a lower order is needed.
MAX_STATES = 3000


@dataclass(frozen=True, eq=False)
class MarkovFit:
    """The fitted chain's conversion probability, each channel's removal effect, the
    number of channel states, and every touch's share."""

    conversion_probability: float
    removal_effects: dict[str, float]
    states: int
    shares: Floats


def markov_states(j: Journeys, order: int) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Each touch's state (0..S-1) and, per state, which channels it holds (S x channels)."""
    base = len(j.channels) + 1
    if base**order >= 2**62:
        raise ValidationError("order", f"order {order} is too high for {base - 1} channels")
    channel = j.touch_channel + 1  # 0 stands for "before the journey began"
    position = np.arange(len(channel)) - j.starts[j.touch_journey]
    code = channel.copy()
    for d in range(1, order):
        earlier = np.zeros_like(channel)
        earlier[d:] = channel[:-d]
        code += np.where(position >= d, earlier, 0) * base**d
    codes, states = np.unique(code, return_inverse=True)
    if len(codes) > MAX_STATES:
        raise ValidationError(
            "order",
            f"order {order} gives {len(codes)} states (at most {MAX_STATES}); use a lower order",
        )
    holds = np.zeros((len(codes), len(j.channels)), dtype=bool)
    for d in range(order):
        digit = (codes // base**d) % base
        present = digit > 0
        holds[np.flatnonzero(present), digit[present] - 1] = True
    return states.ravel().astype(np.int64), holds


def transitions(j: Journeys, states: Ints, n_states: int) -> tuple[Ints, Ints, Floats]:
    """Observed moves as (from, to, probability); node ``n_states`` is start,
    ``n_states + 1`` conversion, ``n_states + 2`` null."""
    start, conversion, null = n_states, n_states + 1, n_states + 2
    inside = np.ones(len(states), dtype=bool)
    inside[j.ends] = False
    source = np.concatenate([np.full(j.size, start), states[inside], states[j.ends]])
    target = np.concatenate(
        [states[j.starts], states[1:][inside[:-1]], np.where(j.converted, conversion, null)]
    )
    pairs, counts = np.unique(source * (n_states + 3) + target, return_counts=True)
    src, dst = np.divmod(pairs, n_states + 3)
    out = np.bincount(src, weights=counts, minlength=n_states + 1)
    return src, dst, counts / out[src]


def _conversion_probability(
    system: Floats, conversion: Floats, keep: npt.NDArray[np.bool_]
) -> float:
    """P(conversion from start) when only the ``keep`` states (start last, always kept)
    remain; the others lead to null."""
    solved = np.linalg.solve(system[np.ix_(keep, keep)], conversion[keep])
    return float(solved[-1])


def markov_shares(j: Journeys, *, order: int = 1) -> MarkovFit:
    """Fit the chain on every journey, then share the converted ones (module docstring)."""
    if j.size == 0 or len(j.touch_journey) == 0:
        return MarkovFit(0.0, {}, 0, np.zeros(0))
    states, holds = markov_states(j, order)
    n = len(holds)
    src, dst, probability = transitions(j, states, n)
    system = np.eye(n + 1)
    moves = dst <= n
    system[src[moves], dst[moves]] -= probability[moves]
    conversion = np.zeros(n + 1)
    converts = dst == n + 1
    conversion[src[converts]] = probability[converts]
    everything = np.ones(n + 1, dtype=bool)
    full = _conversion_probability(system, conversion, everything)
    effects = np.zeros(len(j.channels))
    if full > 0:
        for c in np.flatnonzero(holds.any(axis=0)):
            keep = np.append(~holds[:, c], True)
            effects[c] = max(0.0, 1.0 - _conversion_probability(system, conversion, keep) / full)
    shares = per_channel_shares(j, effects[j.touch_channel])
    named = {j.channels[c]: float(effects[c]) for c in np.flatnonzero(holds.any(axis=0))}
    return MarkovFit(full, named, n, shares)
