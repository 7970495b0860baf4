"""Learned win probabilities: how likely an open deal is to be won within a period.

The question for a deal in stage ``s`` that has been there ``a`` days, seen at ``t``, and a
period ``[start, end)``: will it be won between ``max(start, t)`` and ``end``?

**Landmarks, not snapshots.** For each stage and age band ``[L, next L)`` the estimator
looks at every past deal that *reached* the stage and was still in it ``L`` days after first
entering it (the landmark), and follows it from that moment to its close. Deals still open at
``t`` are *censored*: they count while they are observed and then leave the risk set, so a
young open deal lowers nothing. Winning and losing compete; the Aalen–Johansen estimator
gives the cumulative incidence of winning ``F(h)``: the probability of being won within ``h``
days of the landmark. The period probability is ``F(end - t) - F(max(start, t) - t)``.

With no open deals and a long horizon ``F`` is the share of deals that reached the stage
and were won: the stage's empirical win rate (tested).

**Shrinkage.** Segments (deal size band, product line, channel, team: :data:`SEGMENT_LEVELS`,
broadest first) split the landmark population ever finer. Each cell is pulled toward its
parent with ``m`` pseudo-deals (empirical Bayes with a Beta prior of strength ``m``)::

    p_cell = (n * p_observed + m * p_parent) / (n + m)

The parent of a segment cell is the same cell one level broader; the parent of a stage's
whole population at an age band is the band before it (band 0 stands alone). A cell with no
deals is its parent. ``n + m`` is also the weight of the cell's Beta posterior, which the
simulation samples from so that thin evidence widens the range.

Worked example (``m = 20``): proposal, age 0-7 days, all deals: 400 reached it, ``p = 0.30``.
Size band 20k-50k: 30 deals, observed 0.50 -> ``(30*0.5 + 20*0.30) / 50 = 0.42``.

**Fixed table.** A stage listed in ``fixed`` (e.g. ``domain/pipeline.STAGE_PROBABILITY``)
keeps the table's eventual win probability; the history decides only *when*: the table's
value times the share of the stage's eventual wins that land in the period.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from operator import attrgetter, itemgetter

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_data import SEGMENT_LEVELS, Deal
from leadfunnel.analytics.forecast_incidence import (
    CENSORED,
    LOST,
    WON,
    cumulative_incidence,
    grouped_incidence,
    time_order,
)

__all__ = [
    "AGE_BANDS",
    "CellEstimate",
    "DealArrays",
    "DealStates",
    "ModelSettings",
    "WinModel",
    "cumulative_incidence",
    "grouped_incidence",
]

Floats = npt.NDArray[np.float64]
#: Lower bounds (days in stage) of the age bands.
AGE_BANDS = (0.0, 3.0, 7.0, 14.0, 21.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 365.0)
_FOREVER = 1e9


@dataclass(frozen=True)
class ModelSettings:
    """How the probabilities are learned: segment levels (broadest first), pseudo-count
    ``m``, age bands, and an optional fixed per-stage table of eventual win probabilities."""

    levels: tuple[str, ...] = SEGMENT_LEVELS
    pseudo_count: float = 20.0
    bands: tuple[float, ...] = AGE_BANDS
    fixed: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CellEstimate:
    """The probability of one cell, with where it came from (``n`` deals at the landmark,
    their observed ``raw`` rate) and its Beta posterior weight (``inf``: fixed)."""

    stage: str
    band: int
    segment: tuple[str, ...]
    n: int
    raw: float | None
    value: float
    weight: float
    basis: str

    @property
    def alpha(self) -> float:
        return self.value * self.weight

    @property
    def beta(self) -> float:
        return (1.0 - self.value) * self.weight


@dataclass
class _Population:
    durations: Floats
    events: npt.NDArray[np.int8]
    keys: list[npt.NDArray[np.integer]]


@dataclass
class _Groups:
    """Per segment prefix key: its row; each row's deals and incidences (plain lists: read
    once per cell)."""

    index: dict[int, int]
    counts: list[int]
    table: list[list[float]]


Stays = dict[str, tuple[Floats, Floats, Floats, npt.NDArray[np.int8]]]
_OUTCOME_CODES = {"won": WON, "lost": LOST, "disqualified": LOST}


@dataclass(frozen=True)
class DealStates:
    """Every deal as it stood at a moment, as arrays (what :func:`~.forecast_data.known_at`
    gives one deal at a time): whether it existed, its stage (a code of
    :attr:`DealArrays.stage_names`), when it entered it, when it closed (NaN: open) and how
    (0 open, 1 won, 2 lost)."""

    exists: npt.NDArray[np.bool_]
    stage: npt.NDArray[np.int64]
    entered: Floats
    closed: Floats
    outcome: npt.NDArray[np.int8]


class DealArrays:
    """What every fit of one forecast reads of the deals, worked out once: per open stage
    each deal's first entry, when that first stay ended and when the deal closed (NaN: not
    yet) with its outcome; and per segment level each deal's prefix key.

    A fit as of an earlier moment only masks the times after it (:meth:`stays_at`): a stay
    that ended later had not ended, a deal closed later was open; the first entries need no
    mask (a landmark after the moment is never used). So the calibration's six past fits
    reuse the arrays of the forecast's own."""

    def __init__(self, deals: Sequence[Deal], levels: Sequence[str]) -> None:
        self.size = len(deals)
        self.levels = tuple(levels)
        self.codes = _segment_codes(deals, self.levels)
        # Per level, the prefix keys as dense small codes (and the key of each code): a
        # stable sort of 16-bit codes is a radix sort, which each fit does per level.
        self.dense: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.integer]]] = []
        for key in self.codes[1]:
            found, dense = np.unique(key, return_inverse=True)
            small = np.uint16 if len(found) <= np.iinfo(np.uint16).max else np.int64
            self.dense.append((found, dense.reshape(-1).astype(small)))
        self.amount = np.fromiter(map(attrgetter("amount"), deals), np.float64, self.size)
        self.created = np.fromiter(map(attrgetter("created"), deals), np.float64, self.size)
        histories = list(map(attrgetter("history"), deals))
        lengths = np.fromiter(map(len, histories), np.int64, self.size)
        flat = list(chain.from_iterable(histories))
        stages = list(map(itemgetter(1), flat))
        self.stage_names = ["qualification", *sorted(set(stages) - {"qualification"})]
        vocab = {s: i for i, s in enumerate(self.stage_names)}
        self._times = np.fromiter(map(itemgetter(0), flat), np.float64, len(flat))
        self._stages = np.fromiter(map(vocab.__getitem__, stages), np.int64, len(stages))
        self._outcomes = np.array(
            [_OUTCOME_CODES.get(s, 0) for s in self.stage_names], dtype=np.int8
        )[self._stages]
        self._starts = (np.cumsum(lengths) - lengths)[lengths > 0]
        self._nonempty = lengths > 0
        self._lengths = lengths
        self.stays = self._first_stays(lengths)

    def _first_stays(self, lengths: npt.NDArray[np.int64]) -> Stays:
        """Per open stage in any history: each deal's first entry into it, when that stay
        ended (the next change) and when the deal closed, with how (a deal with no history
        is in qualification since its creation)."""
        n, names = self.size, self.stage_names
        seen = set(np.unique(self._stages).tolist())
        owner = np.repeat(np.arange(n), lengths)
        ends = np.cumsum(lengths)
        if len(self._times):
            last = ends[self._nonempty] - 1
            closed, outcome = np.full(n, np.nan), np.zeros(n, dtype=np.int8)
            outcome[self._nonempty] = self._outcomes[last]
            closed[self._nonempty] = np.where(
                outcome[self._nonempty] > 0, self._times[last], np.nan
            )
        else:
            closed, outcome = np.full(n, np.nan), np.zeros(n, dtype=np.int8)
        stays: Stays = {}
        for code in sorted(seen):
            stage = names[code]
            if stage in _OUTCOME_CODES:
                continue
            entry, leave = np.full(n, np.nan), np.full(n, np.nan)
            at = np.flatnonzero(self._stages == code)
            deals, first = np.unique(owner[at], return_index=True)
            at = at[first]  # each deal's first entry into the stage
            entry[deals] = self._times[at]
            follows = at + 1 < ends[deals]
            leave[deals[follows]] = self._times[at[follows] + 1]
            if stage == "qualification":
                entry[~self._nonempty] = self.created[~self._nonempty]
            stays[stage] = (entry, leave, closed, outcome)
        return stays

    def finished_stays(self) -> dict[str, Floats]:
        """Per stage: the length of every stay in it that a later change ended (in deal and
        history order), as :func:`~.forecast_health.stage_p75` collects them."""
        if len(self._times) < 2:
            return {}
        ended = np.ones(len(self._times), dtype=bool)
        ended[np.cumsum(self._lengths)[self._nonempty] - 1] = False  # each deal's last change
        lengths = self._times[1:] - self._times[:-1]
        ended = ended[:-1]
        stage = self._stages[:-1][ended]
        lengths = lengths[ended]
        return {
            self.stage_names[code]: lengths[stage == code] for code in np.unique(stage).tolist()
        }

    def state_at(self, as_of: float) -> DealStates:
        """The deals as known at ``as_of``: the last stage change made by then (in history
        order, as :func:`~.forecast_data.known_at` keeps them); none, or no history: in
        qualification since creation."""
        last = np.full(self.size, -1, dtype=np.int64)
        if len(self._times):
            made = np.where(self._times <= as_of, np.arange(len(self._times)), -1)
            last[self._nonempty] = np.maximum.reduceat(made, self._starts)
        has = last >= 0
        at = np.maximum(last, 0)
        if len(self._times):
            stage = np.where(has, self._stages[at], 0)
            entered = np.where(has, self._times[at], self.created)
            outcome = np.where(has, self._outcomes[at], 0).astype(np.int8)
        else:
            stage = np.zeros(self.size, dtype=np.int64)
            entered = self.created.copy()
            outcome = np.zeros(self.size, dtype=np.int8)
        closed = np.where(outcome > 0, entered, np.nan)
        return DealStates(self.created <= as_of, stage, entered, closed, outcome)

    def stays_at(self, as_of: float) -> Stays:
        masked: Stays = {}
        for stage, (entry, leave, closed, outcome) in self.stays.items():
            with np.errstate(invalid="ignore"):
                masked[stage] = (entry, np.where(leave <= as_of, leave, np.nan),
                                 np.where(closed <= as_of, closed, np.nan), outcome)  # fmt: skip
        return masked


def _segment_codes(
    deals: Sequence[Deal], levels: Sequence[str]
) -> tuple[list[dict[str, int]], list[npt.NDArray[np.int64]]]:
    """Per segment level: value -> code, and every deal's prefix key (an int64 that encodes
    its values of the levels up to this one)."""
    vocab: list[dict[str, int]] = []
    keys: list[npt.NDArray[np.int64]] = []
    prefix = np.zeros(len(deals), dtype=np.int64)
    for level in levels:
        # Deal.dimension, a level at a time: str() only when some value is not a string.
        values = list(map(attrgetter("owner" if level == "rep" else level), deals))
        distinct = set(values)
        if level != "rep" and not all(type(v) is str for v in distinct):
            values = list(map(str, values))
            distinct = set(values)
        codes = {v: i for i, v in enumerate(sorted(distinct))}
        vocab.append(codes)
        prefix = prefix * (len(codes) + 1) + np.fromiter(
            map(codes.__getitem__, values), np.int64, len(values)
        )
        keys.append(prefix)
    return vocab, keys


class WinModel:
    """Probabilities learned from ``deals`` as known at ``as_of`` (later stage changes are
    ignored, so the deals may be rewound or not) for the period ``[start, end)``; cells are
    estimated when first asked and remembered. ``arrays``: the deals' :class:`DealArrays`,
    when several fits share them."""

    def __init__(self, deals: Sequence[Deal], *, as_of: float, start: float, end: float,
                 settings: ModelSettings | None = None, arrays: DealArrays | None = None) -> None:  # fmt: skip
        self.settings = settings or ModelSettings()
        self.as_of = as_of
        self.horizons = (max(start - as_of, 0.0), max(end - as_of, 0.0))
        if arrays is None:
            arrays = DealArrays(deals, self.settings.levels)
        if arrays.size != len(deals) or arrays.levels != self.settings.levels:
            raise ValueError("the arrays were built from other deals or segment levels")
        self._arrays = arrays
        self._cells: dict[tuple[str, int, tuple[str, ...]], CellEstimate] = {}
        self._populations: dict[tuple[str, int], _Population] = {}
        self._subsets: dict[
            str, tuple[npt.NDArray[np.int64], Floats, Floats, Floats, npt.NDArray[np.int8]]
        ] = {}
        self._grouped: dict[tuple[str, int, int], _Groups] = {}

    @property
    def _codes(self) -> tuple[list[dict[str, int]], list[npt.NDArray[np.int64]]]:
        return self._arrays.codes

    @cached_property
    def _stays(self) -> Stays:
        """Per open stage, as known at ``as_of`` (see :class:`DealArrays`)."""
        return self._arrays.stays_at(self.as_of)

    def _entered(
        self, stage: str
    ) -> tuple[npt.NDArray[np.int64], Floats, Floats, Floats, npt.NDArray[np.int8]]:
        """The deals that had entered ``stage`` early enough for some landmark by ``as_of``
        (their indices, then their stay arrays): each band's population is taken from these
        (in deal order, so the results are those of the full arrays)."""
        if stage not in self._subsets:
            entry, leave, closed, outcome = self._stays[stage]
            with np.errstate(invalid="ignore"):
                base = np.flatnonzero(entry <= self.as_of - min(0.0, *self.settings.bands))
            self._subsets[stage] = (base, entry[base], leave[base], closed[base], outcome[base])
        return self._subsets[stage]

    def _population(self, stage: str, band: int) -> _Population:
        """Deals still in ``stage`` ``bands[band]`` days after first entering it, by then."""
        if (stage, band) not in self._populations:
            if stage not in self._stays:  # nothing known ever was in it
                empty = np.zeros(0)
                self._populations[stage, band] = _Population(
                    empty, np.zeros(0, np.int8), [np.zeros(0, np.int64)] * len(self.settings.levels)
                )
                return self._populations[stage, band]
            base, entry, leave, closed, outcome = self._entered(stage)
            landmark = entry + self.settings.bands[band]
            with np.errstate(invalid="ignore"):
                member = (landmark <= self.as_of) & ~(leave <= landmark)
            rows = np.flatnonzero(member)
            at, done = landmark[rows], closed[rows]
            ended = ~np.isnan(done)
            durations = np.where(ended, done - at, self.as_of - at)
            events = np.where(ended, outcome[rows], CENSORED).astype(np.int8)
            # Sorted by time once here, so each segment level only sorts by its keys.
            order = time_order(durations, events)
            rows = base[rows[order]]
            keys = [dense[rows] for _, dense in self._arrays.dense]
            self._populations[stage, band] = _Population(durations[order], events[order], keys)
        return self._populations[stage, band]

    def band_of(self, age: float) -> int:
        return max(0, bisect.bisect_right(self.settings.bands, age) - 1)

    def _groups(self, stage: str, band: int, level: int) -> _Groups:
        """Every segment prefix of ``level`` levels at the stage and band: deals, and the
        incidence at the period's start, end and forever."""
        key = (stage, band, level)
        if key not in self._grouped:
            pop = self._population(stage, band)
            keys = (
                pop.keys[level - 1] if level > 0 else np.zeros(len(pop.durations), dtype=np.uint8)
            )
            found, counts, table = grouped_incidence(
                keys, pop.durations, pop.events, (*self.horizons, math.inf), time_sorted=True
            )
            if level > 0:  # dense codes back to prefix keys
                found = self._arrays.dense[level - 1][0][found]
            self._grouped[key] = _Groups(
                dict(zip(found.tolist(), range(len(found)), strict=True)),
                counts.tolist(),
                table.tolist(),
            )
        return self._grouped[key]

    def _observed(
        self, stage: str, band: int, segment: tuple[str, ...]
    ) -> tuple[int, float | None, float]:
        """Deals in the cell, their period win probability, and their eventual one."""
        vocab = self._codes[0]
        key = 0
        for j, value in enumerate(segment):
            code = vocab[j].get(value)
            if code is None:
                return 0, None, 0.0
            key = key * (len(vocab[j]) + 1) + code
        groups = self._groups(stage, band, len(segment))
        row = groups.index.get(key)
        if row is None:
            return 0, None, 0.0
        early, late, forever = groups.table[row]
        return groups.counts[row], late - early, forever

    def cell(self, stage: str, band: int, segment: tuple[str, ...] = ()) -> CellEstimate:
        """The shrunk estimate for a stage, age band and segment prefix (values of the first
        ``len(segment)`` levels)."""
        key = (stage, band, segment)
        if key not in self._cells:
            self._cells[key] = self._estimate(stage, band, segment)
        return self._cells[key]

    def _estimate(self, stage: str, band: int, segment: tuple[str, ...]) -> CellEstimate:
        m = self.settings.pseudo_count
        n, raw, eventual = self._observed(stage, band, segment)
        label = f"{stage}, {_band_label(self.settings.bands, band)}"
        if segment:
            parent = self.cell(stage, band, segment[:-1])
            label += ", " + ", ".join(
                f"{lv}={v}" for lv, v in zip(self.settings.levels, segment, strict=False)
            )
        elif band > 0:
            parent = self.cell(stage, band - 1)
        else:
            parent = None
        if stage in self.settings.fixed and not segment:
            share = raw / eventual if raw is not None and eventual > 0 else 1.0
            value = self.settings.fixed[stage] * share
            return CellEstimate(
                stage, band, segment, n, raw, value, math.inf, f"{label}: fixed table x timing"
            )
        if stage in self.settings.fixed and parent is not None:
            return CellEstimate(stage, band, segment, n, raw, parent.value, math.inf, parent.basis)
        if parent is None:
            if raw is None:  # nothing reached the stage yet: nothing to learn from
                return CellEstimate(stage, band, segment, 0, None, 0.0, 1.0, f"{label}: no history")
            return CellEstimate(stage, band, segment, n, raw, raw, n + 1.0, f"{label} (n={n})")
        if raw is None:
            return CellEstimate(
                stage, band, segment, 0, None, parent.value, parent.weight, parent.basis
            )
        value = (n * raw + m * parent.value) / (n + m)
        return CellEstimate(stage, band, segment, n, raw, value, n + m, f"{label} (n={n})")

    def estimate_many(self, deals: Sequence[Deal], rows: npt.NDArray[np.int64],
                      states: DealStates) -> tuple[list[CellEstimate], npt.NDArray[np.int64]]:  # fmt: skip
        """:meth:`estimate` of the open deals ``deals[rows]`` in the states ``states`` (of
        this model's :class:`DealArrays`, at its ``as_of``), once per distinct cell: the
        cells, and each row's index into them."""
        if len(rows) == 0:
            return [], np.zeros(0, dtype=np.int64)
        bands = np.asarray(self.settings.bands, dtype=np.float64)
        age = self.as_of - states.entered[rows]
        band = np.maximum(np.searchsorted(bands, age, side="right") - 1, 0)
        keys = self._codes[1]
        segment = keys[-1][rows] if keys else np.zeros(len(rows), dtype=np.int64)
        table = np.stack([states.stage[rows], band, segment], axis=1)
        names = self._arrays.stage_names
        cells_per_stage = len(bands) * (int(segment.max()) + 1)
        if len(names) * cells_per_stage < 2**62:  # one int64 per cell: a flat unique
            flat = (table[:, 0] * len(bands) + table[:, 1]) * (int(segment.max()) + 1) + segment
            _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
        cells = []
        for i in first.tolist():
            deal = deals[int(rows[i])]
            found = tuple(deal.dimension(level) for level in self.settings.levels)
            cells.append(self.cell(names[int(table[i, 0])], int(table[i, 1]), found))
        return cells, inverse.reshape(-1).astype(np.int64)

    def estimate(self, deal: Deal) -> CellEstimate:
        """The finest cell of an open deal: its stage, its age in it, all its segments."""
        band = self.band_of(self.as_of - deal.stage_entered)
        segment = tuple(deal.dimension(level) for level in self.settings.levels)
        return self.cell(deal.stage, band, segment)


def _band_label(bands: Sequence[float], band: int) -> str:
    low = bands[band]
    return f"{low:g}+ days" if band + 1 == len(bands) else f"{low:g}-{bands[band + 1]:g} days"
