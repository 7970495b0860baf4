"""The Aalen–Johansen estimator of winning, with losing as the competing close: one
population (:func:`cumulative_incidence`) or every group of one at once
(:func:`grouped_incidence`), as ``forecast_model`` and ``forecast_runrate`` use it.

Each deal has a duration (days from its landmark) and an event: 1 won, 2 lost, 0 censored
(still open then). A deal censored at ``h`` is at risk at ``h``: at equal times, closes come
before censorings. Example: two deals, one won at day 4, one still open at day 2; the open
one says nothing about day 4, so the incidence is 0 at day 3 and 1 at day 5::

    >>> cumulative_incidence(np.array([4.0, 2.0]), np.array([1, 0], np.int8), [3.0, 5.0])
    [0.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["CENSORED", "LOST", "WON", "cumulative_incidence", "grouped_incidence", "time_order"]

Floats = npt.NDArray[np.float64]
#: The event codes.
CENSORED, WON, LOST = 0, 1, 2


def cumulative_incidence(
    durations: Floats, events: npt.NDArray[np.int8], horizons: Sequence[float]
) -> list[float]:
    """Aalen–Johansen cumulative incidence of winning at each horizon (days from landmark).

    ``events``: 1 won, 2 lost, 0 censored at that duration. A deal censored at ``h`` is at
    risk at ``h`` (a close and a censoring on the same day: the close comes first)."""
    if len(durations) == 0:
        return [0.0 for _ in horizons]
    order = np.argsort(durations, kind="stable")
    times, kinds = durations[order], events[order]
    unique, first = np.unique(times, return_index=True)
    at_risk = len(times) - first
    won = np.add.reduceat((kinds == WON).astype(np.float64), first)
    closed = np.add.reduceat((kinds != CENSORED).astype(np.float64), first)
    survival_after = np.cumprod(1.0 - closed / at_risk)
    survival_before = np.concatenate(([1.0], survival_after[:-1]))
    incidence = np.cumsum(survival_before * won / at_risk)
    found = np.searchsorted(unique, np.asarray(horizons, dtype=np.float64), side="right")
    return [float(incidence[i - 1]) if i > 0 else 0.0 for i in found]


def grouped_incidence(keys: npt.NDArray[np.integer], durations: Floats, events: npt.NDArray[np.int8],
                      horizons: Sequence[float], *, time_sorted: bool = False,
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Floats]:  # fmt: skip
    """:func:`cumulative_incidence` of every group of ``keys`` at once: the groups' keys
    (sorted), their deal counts, and their incidence at each horizon (a row per group);
    ``math.inf`` is a valid horizon. ``time_sorted``: the deals come ordered by duration,
    closes before censorings at equal times (then only the keys need sorting).

    One sort by (key, duration, events before censorings) and running sums: each deal in
    turn is one step of the estimator (``n`` at risk: the group's deals not yet passed), which
    for tied times multiplies out to the grouped formula."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(horizons)))
    if time_sorted and keys.dtype.itemsize <= 2 and keys.dtype.kind == "u":
        # Small codes: counted, not compared; a stable sort by them keeps each group in
        # time order (a radix sort), and one group needs none.
        counts = np.bincount(keys)
        found: npt.NDArray[np.integer] = np.flatnonzero(counts)
        ends = np.cumsum(counts[found])
        starts = ends - counts[found]
        if len(found) == 1:
            t, e = durations, events
        else:
            order = np.argsort(keys, kind="stable")
            t, e = durations[order], events[order]
    else:
        if time_sorted:
            order = np.argsort(keys, kind="stable")
        else:
            order = np.lexsort(((events == CENSORED), durations, keys))
        t, e = durations[order], events[order]
        k = keys[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], len(k)]
        found = k[starts]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    # The running sums only move at closes (survival) and wins (incidence): they are kept
    # there and read elsewhere as their last value, which is what adding zeros would give.
    closes = np.flatnonzero(e != CENSORED)
    at_risk = (ends[group[closes]] - closes).astype(np.float64)
    # log S after each step; a group's last deal (at risk alone) never precedes another of its
    # group, so its step (log 0 when it closes) is left out rather than poisoning the sums.
    step = np.log1p(-np.where(at_risk > 1, 1.0 / at_risk, 0.0))
    log_after = np.cumsum(step)
    base = _running_at(log_after, closes, starts) - _value_at(step, closes, starts)
    won = np.flatnonzero(e[closes] == WON)  # the wins, as indices of closes
    wins = closes[won]
    mine = group[wins]
    gain = np.exp(log_after[won] - step[won] - base[mine]) / at_risk[won]
    total = np.cumsum(gain)
    before = _running_at(total, wins, starts) - _value_at(gain, wins, starts)
    # Each group's last deal at or before each horizon: one search over (group, time) pairs.
    span = float(t.max()) + 1.0
    finite = [h for h in horizons if math.isfinite(h)]
    scale = span + (max(finite) if finite else 0.0) + 1.0
    position = np.arange(len(starts)) * scale
    composite = group * scale + t
    table = np.empty((len(starts), len(horizons)))
    for j, h in enumerate(horizons):
        last = (
            ends - 1
            if not math.isfinite(h)
            else np.searchsorted(composite, position + min(h, span), side="right") - 1
        )
        table[:, j] = np.where(last >= starts, _running_at(total, wins, last) - before, 0.0)
    return found.astype(np.int64), ends - starts, table


def _running_at(running: Floats, at: npt.NDArray[np.int64], where: npt.NDArray[np.int64]) -> Floats:
    """A running sum over every position that only moves at the sorted positions ``at``
    (``running``: its values there), read at the positions ``where`` (0 before ``at[0]``)."""
    if len(at) == 0:
        return np.zeros(len(where))
    count = np.searchsorted(at, where, side="right")
    return np.where(count > 0, running[np.maximum(count - 1, 0)], 0.0)


def _value_at(values: Floats, at: npt.NDArray[np.int64], where: npt.NDArray[np.int64]) -> Floats:
    """The value at each position of ``where`` of an array that is ``values`` at the sorted
    positions ``at`` and 0 elsewhere."""
    if len(at) == 0:
        return np.zeros(len(where))
    index = np.minimum(np.searchsorted(at, where), len(at) - 1)
    return np.where(at[index] == where, values[index], 0.0)


def time_order(durations: Floats, events: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    """``np.lexsort(((events == 0), durations))``: by duration, closes before censorings,
    then in the given order; a quicksort by duration, then each run of equal durations put
    in order by a stable sort of integer keys (a few times faster than the lexsort)."""
    rough = np.argsort(durations)
    if len(rough) < 2:
        return rough
    ordered = durations[rough]
    run = np.concatenate(([0], np.cumsum(ordered[1:] != ordered[:-1])))
    key = (run * 2 + (events[rough] == CENSORED)) * len(durations) + rough
    return rough[np.argsort(key, kind="stable")]
