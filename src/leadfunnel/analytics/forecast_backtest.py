"""Backtests: how good were the forecasts we could have made?

For each past period, the forecast is re-run as of the period's first moment with only what
was known then (``run_forecast`` rewinds every deal with ``known_at``; nothing later leaks
in), and compared with what was actually booked in the period: the amounts of the deals won
in it, by the data as it stands now. Per period and group:

* **error** ``forecast - actual`` (``forecast``: the expected bookings);
* **covered**: the actual lies within the forecast's P10-P90 range.

Summaries per group (and overall), over the periods:

* **MAPE**: mean of ``|forecast - actual| / actual`` over periods that booked something;
* **bias**: ``Σ (forecast - actual) / Σ actual`` (positive: forecasts ran high);
* **coverage**: the share of periods whose actual lies within P10-P90 (80 % is calibrated).

Only periods that ended before the data's as-of moment are scored, and only those whose
start already knew a closed deal (before that, there is no history to learn from).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from leadfunnel.analytics.forecast import ALL, run_forecast
from leadfunnel.analytics.forecast_data import Deal
from leadfunnel.analytics.forecast_spec import ForecastSpec, Period

__all__ = ["BacktestPoint", "BacktestResult", "BacktestSummary", "backtest", "summarise"]


@dataclass(frozen=True)
class BacktestPoint:
    period: str
    group: str
    forecast: float
    p10: float
    p50: float
    p90: float
    actual: float

    @property
    def error(self) -> float:
        return self.forecast - self.actual

    @property
    def covered(self) -> bool:
        return self.p10 <= self.actual <= self.p90

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "error": round(self.error, 2), "covered": self.covered}


@dataclass(frozen=True)
class BacktestSummary:
    group: str
    periods: int
    mape: float | None
    bias: float | None
    coverage: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BacktestResult:
    unit: str
    by: str | None
    points: list[BacktestPoint]
    groups: list[BacktestSummary]
    overall: BacktestSummary

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "by": self.by, "points": [p.to_dict() for p in self.points],
                "groups": [g.to_dict() for g in self.groups], "overall": self.overall.to_dict()}  # fmt: skip


def summarise(group: str, points: Sequence[BacktestPoint]) -> BacktestSummary:
    """MAPE, bias and P10-P90 coverage of one group's points."""
    if not points:
        return BacktestSummary(group, 0, None, None, None)
    booked = [p for p in points if p.actual > 0]
    actual = sum(p.actual for p in points)
    mape = sum(abs(p.error) / p.actual for p in booked) / len(booked) if booked else None
    bias = sum(p.error for p in points) / actual if actual > 0 else None
    coverage = sum(p.covered for p in points) / len(points)
    return BacktestSummary(group, len(points), _round(mape), _round(bias), _round(coverage))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _actuals(deals: Sequence[Deal], period: Period, by: str | None) -> dict[str, float]:
    booked: dict[str, float] = defaultdict(float)
    for deal in deals:
        if (
            deal.outcome == "won"
            and deal.closed_at is not None
            and period.start <= deal.closed_at < period.end
        ):
            booked[deal.dimension(by) if by else ALL] += deal.amount
    return booked


def _point(period: Period, row: Any, actual: float) -> BacktestPoint:
    b = row.bookings
    return BacktestPoint(
        period.label, row.group, round(row.expected, 2), b.p10, b.p50, b.p90, round(actual, 2)
    )


def backtest(
    deals: Sequence[Deal], *, periods: Sequence[Period], spec: ForecastSpec
) -> BacktestResult:
    """Score the forecasts of ``periods``, each made as of its start; ``spec`` gives the
    breakdown, draws, seed and model settings (its period and as-of are replaced). With a
    breakdown, the company total is scored too (its own simulated range, not a sum of
    the groups' ranges)."""
    points: list[BacktestPoint] = []
    totals: list[BacktestPoint] = []
    for period in periods:
        if not any(d.closed_at is not None and d.closed_at <= period.start for d in deals):
            continue  # nothing had closed yet: no history to learn from, nothing to score
        forecast = run_forecast(deals, replace(spec, period=period, as_of=period.start))
        actual = _actuals(deals, period, spec.by)
        points.extend(_point(period, row, actual.get(row.group, 0.0)) for row in forecast.rows)
        totals.append(_point(period, forecast.total, sum(actual.values())))
    by_group: dict[str, list[BacktestPoint]] = defaultdict(list)
    for point in points:
        by_group[point.group].append(point)
    return BacktestResult(
        unit=periods[0].unit if periods else "month",
        by=spec.by,
        points=points if spec.by else totals,
        groups=[summarise(g, ps) for g, ps in sorted(by_group.items())] if spec.by else [],
        overall=summarise(ALL, totals),
    )
