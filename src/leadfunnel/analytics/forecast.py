"""The period forecast: expected bookings, their Monte Carlo range, categories and health.

Given every deal and a :class:`~.forecast_spec.ForecastSpec`:

1. forget what happened after the as-of moment (:func:`~.forecast_data.known_at`), so a
   forecast as of a past date is the one that could have been made then;
2. learn each open deal's probability of being won in the period (``forecast_model``);
3. add what was already won in the period and the expected new pipeline (``forecast_runrate``);
4. learn from past periods how much more periods vary than independent deals explain
   (``forecast_calibration``), simulate the range (``forecast_simulation``) and read
   P10/P50/P90 per group and in total;
5. roll up the reps' categories against the model and list the unhealthy deals.

``expected`` is closed won + ``Σ amount × probability`` + expected new bookings; it is the
mean of the simulated distribution (up to Monte Carlo noise), and what backtests score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_calibration import period_widening, shock_sigma
from leadfunnel.analytics.forecast_categories import CategoryRollup, roll_up_arrays
from leadfunnel.analytics.forecast_data import Deal, day_time, known_at
from leadfunnel.analytics.forecast_health import DealHealth, RepHealth, open_deal_health, p75_of
from leadfunnel.analytics.forecast_model import CellEstimate, DealArrays, WinModel
from leadfunnel.analytics.forecast_rows import DealForecast, OpenDeals, Rows, deal_rows
from leadfunnel.analytics.forecast_runrate import NewPipelineEstimate, new_pipeline_arrays
from leadfunnel.analytics.forecast_simulation import EXACT_LIMIT, OpenBook, simulate
from leadfunnel.analytics.forecast_spec import ForecastSpec

__all__ = ["ALL", "DealForecast", "Forecast", "ForecastRow", "Range", "run_forecast"]

#: The group of a forecast without breakdown.
ALL = "all"


@dataclass(frozen=True)
class Range:
    p10: float
    p50: float
    p90: float

    def to_dict(self) -> dict[str, float]:
        return {"p10": self.p10, "p50": self.p50, "p90": self.p90}


def _range(draws: np.ndarray[Any, np.dtype[np.float64]]) -> Range:
    p10, p50, p90 = np.percentile(draws, (10, 50, 90))
    return Range(round(float(p10), 2), round(float(p50), 2), round(float(p90), 2))


@dataclass(frozen=True)
class ForecastRow:
    """One group's forecast for the period."""

    group: str
    closed_won: float
    closed_won_deals: int
    open_deals: int
    open_pipeline: float
    expected_open: float
    new_created_deals: float
    new_created_amount: float
    new_expected_deals: float
    new_expected: float
    expected: float
    expected_deals: float
    bookings: Range
    deals: Range
    categories: CategoryRollup

    def to_dict(self) -> dict[str, Any]:
        plain = {
            k: v for k, v in self.__dict__.items() if k not in ("bookings", "deals", "categories")
        }
        rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in plain.items()}
        return {**rounded, "bookings": self.bookings.to_dict(), "deals": self.deals.to_dict(),
                "categories": self.categories.to_dict()}  # fmt: skip


@dataclass(frozen=True)
class Forecast:
    spec: ForecastSpec
    rows: list[ForecastRow]
    total: ForecastRow
    #: Built a row at a time when read (``forecast_rows``): a forecast has 100,000s of them.
    deals: Sequence[DealForecast]
    health: Sequence[DealHealth]
    reps: list[RepHealth]
    #: The widening of the range learned from past periods, and the sigma of the period
    #: factor that applies it (forecast_calibration).
    widening: float = 1.0
    period_sigma: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "period": s.period.label, "start": s.period.start_date.isoformat(), "end": s.period.end_date.isoformat(),
            "as_of": day_time(s.as_of).isoformat(), "by": s.by, "draws": s.draws, "seed": s.seed,
            "widening": self.widening, "period_sigma": self.period_sigma,
            "rows": [r.to_dict() for r in self.rows], "total": self.total.to_dict(),
            "deals": _dicts(self.deals), "health": _dicts(self.health),
            "reps": [r.to_dict() for r in self.reps],
        }  # fmt: skip


def _dicts(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return rows.to_dicts() if isinstance(rows, Rows) else [r.to_dict() for r in rows]


Ints = npt.NDArray[np.int64]


def _groups(spec: ForecastSpec, known: Sequence[Deal]) -> tuple[list[str], Ints]:
    """The breakdown's groups (sorted; the one group without breakdown) and every known
    deal's index into them (``Deal.dimension`` of the breakdown, a column at a time)."""
    if not spec.by:
        return [ALL], np.zeros(len(known), dtype=np.int64)
    values = list(map(attrgetter("owner" if spec.by == "rep" else spec.by), known))
    if spec.by != "rep" and not all(type(v) is str for v in set(values)):
        values = list(map(str, values))
    names = sorted(set(values))
    index = {g: i for i, g in enumerate(names)}
    return names, np.fromiter(map(index.__getitem__, values), np.int64, len(values))


def _sum(values: npt.NDArray[np.float64]) -> float:
    """``sum()`` of the values as Python adds floats (left to right; 0 when empty)."""
    return float(np.cumsum(values)[-1]) if len(values) else 0


def _book(deals: OpenDeals, cells: list[CellEstimate]) -> OpenBook:
    """The simulation's input; cells numbered in the order the deals first use them."""
    first = np.unique(deals.cell, return_index=True)[1]
    used = np.argsort(first, kind="stable")
    number = np.empty(len(first), dtype=np.int64)
    number[used] = np.arange(len(first))
    return OpenBook(
        amount=deals.amount,
        cell=number[deals.cell],
        group=deals.group,
        value=np.array([cells[k].value for k in used.tolist()], dtype=np.float64),
        weight=np.array([cells[k].weight for k in used.tolist()], dtype=np.float64),
    )


def run_forecast(
    deals: Sequence[Deal], spec: ForecastSpec, *, exact_limit: int | None = None
) -> Forecast:
    """The forecast of ``spec.period`` as it could be made at ``spec.as_of``."""
    known = [k for d in deals if (k := known_at(d, spec.as_of)) is not None]
    start, end = spec.period.start, spec.period.end
    arrays = DealArrays(known, spec.settings.levels)  # shared with the calibration's fits
    model = WinModel(
        known, as_of=spec.as_of, start=start, end=end, settings=spec.settings, arrays=arrays
    )
    states = arrays.state_at(spec.as_of)  # the deals are known at as_of already
    open_now = np.flatnonzero(states.outcome == 0)
    open_rows = open_now if end > spec.as_of else np.zeros(0, dtype=np.int64)
    open_deals = [known[i] for i in open_now.tolist()]
    stages = [arrays.stage_names[c] for c in states.stage[open_now].tolist()]
    # Every open or won deal is known: the groups are the known deals' (or the one group).
    names, group = _groups(spec, known)
    cells, cell = model.estimate_many(known, open_rows, states)
    chosen = open_deals if len(open_rows) else []
    deal_list, columns = deal_rows(
        chosen, cells=cells, cell=cell, stage=stages if len(open_rows) else [],
        entered=states.entered[open_rows], amount=arrays.amount[open_rows], group=group[open_rows],
        group_names=names, as_of=spec.as_of, start=start, end=end,
    )  # fmt: skip
    new = new_pipeline_arrays(
        created=arrays.created, closed=states.closed, outcome=states.outcome, amount=arrays.amount,
        group=group, as_of=spec.as_of, start=start, end=end, groups=len(names), lookback=spec.lookback_days,
    )  # fmt: skip
    with np.errstate(invalid="ignore"):
        won = (states.outcome == 1) & (start <= states.closed) & (states.closed < end)
    closed_money = np.array([_sum(np.concatenate(([0.0], arrays.amount[w])))
                             for w in _parts(np.flatnonzero(won), group, len(names))])  # fmt: skip
    closed_count = np.bincount(group[won], minlength=len(names)).astype(np.float64)
    widening = period_widening(known, before=spec.period, as_of=spec.as_of, periods=spec.calibration_periods,
                               settings=spec.settings, lookback=spec.lookback_days, arrays=arrays)  # fmt: skip
    sigma = shock_sigma(widening, *_moments(columns, new))
    rng = np.random.default_rng(spec.seed)
    money, count = simulate(
        _book(columns, cells),
        new.simulation,
        (closed_money, closed_count),
        draws=spec.draws,
        rng=rng,
        exact_limit=EXACT_LIMIT if exact_limit is None else exact_limit,
        shock=sigma,
    )
    mine = _parts(np.arange(len(open_rows)), columns.group, len(names))
    rows = [
        _row(g, i, mine[i], columns, new, closed_money, closed_count, money[i], count[i])
        for i, g in enumerate(names)
    ]
    total = _total(rows, columns, money.sum(axis=0), count.sum(axis=0))
    # Leads have no close dates or next steps: their health says nothing.
    health: Sequence[DealHealth] = []
    reps: list[RepHealth] = []
    if spec.subject == "deals":
        health, reps = open_deal_health(open_deals, stage=stages, entered=states.entered[open_now],
                                        as_of=spec.as_of, p75=p75_of(arrays.finished_stays()))  # fmt: skip
    return Forecast(spec, rows, total, deal_list, health, reps, round(widening, 4), round(sigma, 4))


def _parts(rows: Ints, group: Ints, groups: int) -> list[Ints]:
    """``rows`` split by their ``group``, each part in the rows' order."""
    order = rows[np.argsort(group[rows], kind="stable")]
    bounds = np.searchsorted(group[order], np.arange(1, groups))
    return np.split(order, bounds) if groups else []


def _moments(deals: OpenDeals, new: NewPipelineEstimate) -> tuple[float, float]:
    """Expected bookings still to come (open deals, new pipeline) and their variance under
    independent deals."""
    a, p = deals.amount, deals.probability
    expected = _sum(a * p) + sum(new.won_amount)
    variance = _sum(a**2 * p * (1 - p))
    for won, pool in zip(new.won, new.simulation.amounts, strict=True):
        variance += won * float((pool**2).mean()) if len(pool) else 0.0
    return expected, variance


def _row(group: str, i: int, mine: Ints, deals: OpenDeals, new: NewPipelineEstimate,
         closed_money: Any, closed_count: Any, money: Any, count: Any) -> ForecastRow:  # fmt: skip
    a, p = deals.amount[mine], deals.probability[mine]
    expected_open = _sum(a * p)
    inside = mine[deals.in_period[mine]]
    categories = roll_up_arrays(deals.rank[inside], deals.amount[inside], deals.probability[inside],
                                float(closed_money[i]), int(closed_count[i]))  # fmt: skip
    return ForecastRow(
        group, float(closed_money[i]), int(closed_count[i]), len(mine), _sum(a),
        expected_open, new.created[i], new.created_amount[i], new.won[i], new.won_amount[i],
        float(closed_money[i]) + expected_open + new.won_amount[i],
        float(closed_count[i]) + _sum(p) + new.won[i],
        _range(money), _range(count), categories,
    )  # fmt: skip


def _total(rows: list[ForecastRow], deals: OpenDeals, money: Any, count: Any) -> ForecastRow:
    def add(name: str) -> Any:
        return sum(getattr(r, name) for r in rows)

    inside = deals.in_period
    categories = roll_up_arrays(deals.rank[inside], deals.amount[inside], deals.probability[inside],
                                add("closed_won"), add("closed_won_deals"))  # fmt: skip
    return ForecastRow(
        ALL, add("closed_won"), add("closed_won_deals"), add("open_deals"), add("open_pipeline"),
        add("expected_open"), add("new_created_deals"), add("new_created_amount"), add("new_expected_deals"),
        add("new_expected"), add("expected"), add("expected_deals"), _range(money), _range(count), categories,
    )  # fmt: skip
