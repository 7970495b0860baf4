"""A forecast question, normalised once: which period, seen from when, broken down by what.

Periods are calendar months (``2026-03``) or quarters (``2026-Q1``) in UTC, half-open
``[start, end)``. The as-of moment defaults to now; a past as-of asks what the forecast was
then (a backtest), a future one is refused (the data cannot know it).

    >>> p = parse_period("2026-Q1")
    >>> (p.start_date.isoformat(), p.end_date.isoformat(), p.unit)
    ('2026-01-01', '2026-04-01', 'quarter')
    >>> parse_period("2026-02").next().label
    '2026-03'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from leadfunnel.analytics.forecast_data import BREAKDOWNS, day_number
from leadfunnel.analytics.forecast_model import ModelSettings
from leadfunnel.domain.errors import ValidationError

__all__ = [
    "DRAWS_LIMIT",
    "ForecastSpec",
    "Period",
    "forecast_spec",
    "parse_period",
    "period_containing",
]

#: The most Monte Carlo draws one question may ask for.
DRAWS_LIMIT = 100_000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter: ``[start_date, end_date)``."""

    label: str
    unit: str
    start_date: date
    end_date: date

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_bounds", (day_number(self.start_date), day_number(self.end_date))
        )

    @property
    def start(self) -> float:
        """The first moment, in days since the epoch."""
        return self._bounds[0]  # type: ignore[attr-defined,no-any-return]

    @property
    def end(self) -> float:
        """The first moment after the period."""
        return self._bounds[1]  # type: ignore[attr-defined,no-any-return]

    def next(self) -> Period:
        return _period(self.unit, self.end_date)

    def previous(self) -> Period:
        months = 1 if self.unit == "month" else 3
        year, month = divmod(self.start_date.year * 12 + self.start_date.month - 1 - months, 12)
        return _period(self.unit, date(year, month + 1, 1))


def _period(unit: str, start: date) -> Period:
    months = 1 if unit == "month" else 3
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    end = date(year, month + 1, 1)
    if unit == "month":
        label = f"{start.year}-{start.month:02d}"
    else:
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return Period(label, unit, start, end)


def parse_period(text: str) -> Period:
    """``YYYY-MM`` (a month) or ``YYYY-Qn`` (a quarter)."""
    value = text.strip()
    if match := _MONTH.match(value):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 1970 <= year <= 9998:
            return _period("month", date(year, month, 1))
    if match := _QUARTER.match(value):
        year, quarter = int(match[1]), int(match[2])
        if 1970 <= year <= 9998:
            return _period("quarter", date(year, 3 * quarter - 2, 1))
    raise ValidationError("period", f"'{text}' is not a month (2026-03) or a quarter (2026-Q1)")


def period_containing(day: date, unit: str = "quarter") -> Period:
    """The month or quarter that ``day`` falls in."""
    if unit not in ("month", "quarter"):
        raise ValidationError("unit", f"'{unit}' is not month or quarter")
    month = day.month if unit == "month" else 3 * ((day.month - 1) // 3) + 1
    return _period(unit, date(day.year, month, 1))


@dataclass(frozen=True)
class ForecastSpec:
    """A validated forecast question (``as_of`` in days since the epoch, UTC)."""

    period: Period
    as_of: float
    by: str | None = None
    draws: int = 10_000
    seed: int = 0
    lookback_days: float = 180.0
    settings: ModelSettings = field(default_factory=ModelSettings)
    #: Past periods the spread between periods is learned from (0: none).
    calibration_periods: int = 6
    #: ``deals``, or ``leads`` (their lifecycle; no categories, next steps or close dates).
    subject: str = "deals"


def forecast_spec(*, period: Period, as_of: float, now: float, by: str | None = None,
                  draws: int = 10_000, seed: int = 0, lookback_days: float = 180.0,
                  settings: ModelSettings | None = None, calibration_periods: int = 6, subject: str = "deals") -> ForecastSpec:  # fmt: skip
    """Check the options (errors name the option) and build the spec."""
    if by is not None and by not in BREAKDOWNS:
        raise ValidationError("by", f"'{by}' is not one of: {', '.join(BREAKDOWNS)}")
    if as_of < 0 or period.start < 0:
        raise ValidationError("as_of", "must be on or after 1970-01-01")
    if as_of > now + 1e-6:
        raise ValidationError("as_of", "must not be in the future: the data cannot know it yet")
    if not 100 <= draws <= DRAWS_LIMIT:
        raise ValidationError("draws", f"must be between 100 and {DRAWS_LIMIT:,}, got {draws}")
    if seed < 0:
        raise ValidationError("seed", f"must be 0 or more, got {seed}")
    if not 7 <= lookback_days <= 3660:
        raise ValidationError("lookback", f"must be between 7 and 3660 days, got {lookback_days:g}")
    if not 0 <= calibration_periods <= 36:
        raise ValidationError(
            "calibration", f"must be between 0 and 36 periods, got {calibration_periods}"
        )
    return ForecastSpec(
        period,
        as_of,
        by,
        draws,
        seed,
        lookback_days,
        settings or ModelSettings(),
        calibration_periods,
        subject,
    )
