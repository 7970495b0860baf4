"""Forecast use cases: the period forecast and its backtest, over the analytics store.

Each takes the caller (:class:`Principal`; the CLI is ``SYSTEM``). A manager's or rep's
forecast covers, and learns from, only the deals their team or they own
(``analytics_owners``), so no one sees win rates drawn from deals they may not see.
"""

from __future__ import annotations

from datetime import date, datetime

from leadfunnel.analytics.forecast import Forecast, run_forecast
from leadfunnel.analytics.forecast_backtest import BacktestResult, backtest
from leadfunnel.analytics.forecast_data import day_number
from leadfunnel.analytics.forecast_model import ModelSettings
from leadfunnel.analytics.forecast_spec import (
    ForecastSpec,
    Period,
    forecast_spec,
    parse_period,
    period_containing,
)
from leadfunnel.domain.access import SYSTEM, Principal, analytics_owners
from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.pipeline import OPEN_STAGES, STAGE_PROBABILITY
from leadfunnel.services.ports import ForecastEngine

__all__ = ["BACKTEST_LIMIT", "PROBABILITIES", "SUBJECTS", "backtest_forecast", "forecast_period"]

#: ``learned`` from the stage history, or the ``fixed`` per-stage table (domain/pipeline.py).
PROBABILITIES = ("learned", "fixed")
#: What is forecast: ``deals`` (opportunities and their amounts) or ``leads`` (won leads,
#: from the lifecycle history, for stores without deals such as the Olist data).
SUBJECTS = ("deals", "leads")
#: The most past periods one backtest may score.
BACKTEST_LIMIT = 36


def _settings(probabilities: str, pseudo_count: float | None) -> ModelSettings:
    if probabilities not in PROBABILITIES:
        raise ValidationError(
            "probabilities", f"'{probabilities}' is not one of: {', '.join(PROBABILITIES)}"
        )
    if pseudo_count is not None and not 0 <= pseudo_count <= 10_000:
        raise ValidationError("pseudo_count", f"must be between 0 and 10000, got {pseudo_count:g}")
    fixed = {s: STAGE_PROBABILITY[s] for s in OPEN_STAGES} if probabilities == "fixed" else {}
    return ModelSettings(pseudo_count=20.0 if pseudo_count is None else pseudo_count, fixed=fixed)


def _subject(subject: str) -> str:
    if subject not in SUBJECTS:
        raise ValidationError("subject", f"'{subject}' is not one of: {', '.join(SUBJECTS)}")
    return subject


def _as_of(as_of: date | datetime | None, now: datetime) -> float:
    return day_number(now) if as_of is None else day_number(as_of)


def forecast_period(
    *,
    engine: ForecastEngine,
    now: datetime,
    period: str | None = None,
    by: str | None = None,
    as_of: date | datetime | None = None,
    draws: int = 10_000,
    seed: int = 0,
    probabilities: str = "learned",
    pseudo_count: float | None = None,
    subject: str = "deals",
    principal: Principal = SYSTEM,
) -> Forecast:
    """The forecast of ``period`` (``2026-Q1``, ``2026-03``; default: the quarter of the
    as-of day) as it could be made at ``as_of`` (a date means its start, UTC; default now)."""
    moment = _as_of(as_of, now)
    day = as_of.date() if isinstance(as_of, datetime) else (as_of or now.date())
    chosen = parse_period(period) if period else period_containing(day)
    spec = forecast_spec(period=chosen, as_of=moment, now=day_number(now), by=by, draws=draws, seed=seed,
                         settings=_settings(probabilities, pseudo_count), subject=_subject(subject))  # fmt: skip
    deals = engine.forecast_deals(now=now, owners=analytics_owners(principal), subject=spec.subject)
    return run_forecast(deals, spec)


def _periods(now: datetime, unit: str, count: int, last_label: str | None) -> list[Period]:
    if not 1 <= count <= BACKTEST_LIMIT:
        raise ValidationError("periods", f"must be between 1 and {BACKTEST_LIMIT}, got {count}")
    last = period_containing(now.date(), unit).previous()
    if last_label is not None:
        chosen = parse_period(last_label)
        if chosen.unit != last.unit:
            raise ValidationError("last", f"'{last_label}' is not a {unit}")
        if chosen.end > day_number(now):
            raise ValidationError("last", f"{chosen.label} has not ended yet")
        last = chosen
    found = [last]
    while len(found) < count:
        found.append(found[-1].previous())
    return found[::-1]


def backtest_forecast(
    *,
    engine: ForecastEngine,
    now: datetime,
    periods: int = 12,
    unit: str = "month",
    last: str | None = None,
    by: str | None = None,
    draws: int = 2_000,
    seed: int = 0,
    probabilities: str = "learned",
    pseudo_count: float | None = None,
    subject: str = "deals",
    principal: Principal = SYSTEM,
) -> BacktestResult:
    """Score the forecasts of ``periods`` complete months or quarters ending with ``last``
    (default: the last one before now), each made as of its first day with only what was
    known then."""
    chosen = _periods(now, unit, periods, last)
    spec: ForecastSpec = forecast_spec(period=chosen[0], as_of=chosen[0].start, now=day_number(now), by=by,
                                       draws=draws, seed=seed, settings=_settings(probabilities, pseudo_count), subject=_subject(subject))  # fmt: skip
    deals = engine.forecast_deals(now=now, owners=analytics_owners(principal), subject=spec.subject)
    return backtest(deals, periods=chosen, spec=spec)
