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
from typing import Any

import numpy as np

from leadfunnel.analytics.forecast_calibration import period_widening, shock_sigma
from leadfunnel.analytics.forecast_categories import CategoryRollup, category_disagreement, roll_up
from leadfunnel.analytics.forecast_data import Deal, day_time, known_at
from leadfunnel.analytics.forecast_health import (
    DealHealth,
    RepHealth,
    deal_health,
    p75_of,
    rep_health,
)
from leadfunnel.analytics.forecast_model import CellEstimate, DealArrays, DealStates, WinModel
from leadfunnel.analytics.forecast_runrate import new_pipeline_arrays
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
class DealForecast:
    """One open deal: its probability of being won in the period and where that came from."""

    id: str
    group: str
    owner: str
    stage: str
    days_in_stage: float
    amount: float
    probability: float
    category: str | None
    expected_close: str | None
    in_period: bool
    disagreement: str | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "probability": round(self.probability, 4),
                "days_in_stage": round(self.days_in_stage, 1)}  # fmt: skip


@dataclass(frozen=True)
class Forecast:
    spec: ForecastSpec
    rows: list[ForecastRow]
    total: ForecastRow
    deals: list[DealForecast]
    health: list[DealHealth]
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
            "deals": [d.to_dict() for d in self.deals], "health": [h.to_dict() for h in self.health],
            "reps": [r.to_dict() for r in self.reps],
        }  # fmt: skip


def _group_of(spec: ForecastSpec, deal: Deal) -> str:
    return deal.dimension(spec.by) if spec.by else ALL


def _deal_rows(
    spec: ForecastSpec, model: WinModel, known: list[Deal], rows: np.ndarray[Any, np.dtype[np.int64]],
    states: DealStates, group_names: list[str],
) -> tuple[list[DealForecast], list[CellEstimate]]:  # fmt: skip
    """The open deals ``known[rows]``, each with its cell (one estimate per distinct cell)
    and group (``group_names``: every known deal's)."""
    found, inverse = model.estimate_many(known, rows, states)
    cells = [found[i] for i in inverse.tolist()]
    out = []
    period = spec.period
    for i, cell in zip(rows.tolist(), cells, strict=True):
        deal = known[i]
        close = deal.expected_close
        in_period = close is not None and period.start <= close < period.end
        out.append(DealForecast(
            deal.id, group_names[i], deal.owner, deal.stage, spec.as_of - deal.stage_entered,
            deal.amount, cell.value, deal.category,
            None if close is None else day_time(close).date().isoformat(), in_period,
            category_disagreement(deal.category, cell.value) if in_period else None, cell.basis,
        ))  # fmt: skip
    return out, cells


def _book(
    deal_rows: list[DealForecast], cells: list[CellEstimate], groups: dict[str, int]
) -> OpenBook:
    index: dict[tuple[str, int, tuple[str, ...]], int] = {}
    values: list[float] = []
    weights: list[float] = []
    cell_of: list[int] = []
    for cell in cells:
        key = (cell.stage, cell.band, cell.segment)
        if key not in index:
            index[key] = len(values)
            values.append(cell.value)
            weights.append(cell.weight)
        cell_of.append(index[key])
    return OpenBook(
        amount=np.array([d.amount for d in deal_rows], dtype=np.float64),
        cell=np.array(cell_of, dtype=np.int64),
        group=np.array([groups[d.group] for d in deal_rows], dtype=np.int64),
        value=np.array(values, dtype=np.float64),
        weight=np.array(weights, dtype=np.float64),
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
    open_rows = (
        np.flatnonzero(states.outcome == 0) if end > spec.as_of else np.zeros(0, dtype=np.int64)
    )
    won = [
        d
        for d in known
        if d.outcome == "won" and d.closed_at is not None and start <= d.closed_at < end
    ]
    # Every open or won deal is known: the groups are the known deals' (or the one group).
    group_names = [_group_of(spec, d) for d in known] if spec.by else [ALL] * len(known)
    names = sorted(set(group_names) if spec.by else {ALL})
    groups = {g: i for i, g in enumerate(names)}
    deal_rows, cells = _deal_rows(spec, model, known, open_rows, states, group_names)
    new = new_pipeline_arrays(
        created=arrays.created, closed=states.closed, outcome=states.outcome, amount=arrays.amount,
        group=np.fromiter((groups[g] for g in group_names), np.int64, len(known)),
        as_of=spec.as_of, start=start, end=end, groups=len(names), lookback=spec.lookback_days,
    )  # fmt: skip
    closed_money, closed_count = np.zeros(len(names)), np.zeros(len(names))
    for d in won:
        closed_money[groups[_group_of(spec, d)]] += d.amount
        closed_count[groups[_group_of(spec, d)]] += 1
    book = _book(deal_rows, cells, groups)
    widening = period_widening(known, before=spec.period, as_of=spec.as_of, periods=spec.calibration_periods,
                               settings=spec.settings, lookback=spec.lookback_days, arrays=arrays)  # fmt: skip
    sigma = shock_sigma(widening, *_moments(deal_rows, new))
    rng = np.random.default_rng(spec.seed)
    money, count = simulate(
        book,
        new.simulation,
        (closed_money, closed_count),
        draws=spec.draws,
        rng=rng,
        exact_limit=EXACT_LIMIT if exact_limit is None else exact_limit,
        shock=sigma,
    )
    by_group: dict[str, list[DealForecast]] = {g: [] for g in groups}
    for row in deal_rows:
        by_group[row.group].append(row)
    rows = [
        _row(g, i, by_group[g], new, closed_money, closed_count, money[i], count[i])
        for g, i in groups.items()
    ]
    total = _total(rows, deal_rows, money.sum(axis=0), count.sum(axis=0))
    # Leads have no close dates or next steps: their health says nothing.
    health = (
        deal_health(known, as_of=spec.as_of, p75=p75_of(arrays.finished_stays()))
        if spec.subject == "deals"
        else []
    )
    return Forecast(
        spec,
        rows,
        total,
        deal_rows,
        health,
        rep_health(known, health) if spec.subject == "deals" else [],
        round(widening, 4),
        round(sigma, 4),
    )


def _moments(deal_rows: list[DealForecast], new: Any) -> tuple[float, float]:
    """Expected bookings still to come (open deals, new pipeline) and their variance under
    independent deals."""
    expected = sum(d.amount * d.probability for d in deal_rows) + sum(new.won_amount)
    variance = sum(d.amount**2 * d.probability * (1 - d.probability) for d in deal_rows)
    for won, pool in zip(new.won, new.simulation.amounts, strict=True):
        variance += won * float((pool**2).mean()) if len(pool) else 0.0
    return expected, variance


def _row(group: str, i: int, mine: list[DealForecast], new: Any, closed_money: Any, closed_count: Any,
         money: Any, count: Any) -> ForecastRow:  # fmt: skip
    expected_open = sum(d.amount * d.probability for d in mine)
    categories = roll_up(((d.category, d.amount, d.probability) for d in mine if d.in_period),
                         float(closed_money[i]), int(closed_count[i]))  # fmt: skip
    return ForecastRow(
        group, float(closed_money[i]), int(closed_count[i]), len(mine), sum(d.amount for d in mine),
        expected_open, new.created[i], new.created_amount[i], new.won[i], new.won_amount[i],
        float(closed_money[i]) + expected_open + new.won_amount[i],
        float(closed_count[i]) + sum(d.probability for d in mine) + new.won[i],
        _range(money), _range(count), categories,
    )  # fmt: skip


def _total(
    rows: list[ForecastRow], deal_rows: list[DealForecast], money: Any, count: Any
) -> ForecastRow:
    def add(name: str) -> Any:
        return sum(getattr(r, name) for r in rows)

    categories = roll_up(((d.category, d.amount, d.probability) for d in deal_rows if d.in_period),
                         add("closed_won"), add("closed_won_deals"))  # fmt: skip
    return ForecastRow(
        ALL, add("closed_won"), add("closed_won_deals"), add("open_deals"), add("open_pipeline"),
        add("expected_open"), add("new_created_deals"), add("new_created_amount"), add("new_expected_deals"),
        add("new_expected"), add("expected"), add("expected_deals"), _range(money), _range(count), categories,
    )  # fmt: skip
