"""What a funnel question is: a frozen, validated spec, normalised once.

Every engine and the oracle take a :class:`FunnelSpec`; none of them re-interprets raw
options. :func:`funnel_spec` builds one from loose input (CLI, API) and refuses anything
unknown, naming the field.

>>> spec = funnel_spec(steps=["mql", "won"], window="90d", breakdown="channel")
>>> spec.steps, spec.window_days, spec.breakdown_column
(('mql', 'won'), 90.0, 'channel')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = [
    "Attribution",
    "BREAKDOWNS",
    "CohortPeriod",
    "FunnelMode",
    "FunnelSpec",
    "funnel_spec",
    "parse_window",
]


class FunnelMode(StrEnum):
    #: Steps reached in funnel order (skipped stages count as reached).
    ORDERED = "ordered"
    #: Each step's stage entered directly from the previous step's, nothing in between.
    STRICT = "strict"
    #: Steps reached in any order (only differs from ordered for event funnels).
    ANY = "any"


class CohortPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class Attribution(StrEnum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"


#: Breakdown dimensions -> (first-touch column, last-touch column) of the lead.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "channel": ("channel", "last_channel"),
    "campaign": ("campaign", "last_campaign"),
    "utm_source": ("first_utm_source", "last_utm_source"),
    "utm_medium": ("first_utm_medium", "last_utm_medium"),
    "utm_campaign": ("first_utm_campaign", "last_utm_campaign"),
    **{d: (d, d) for d in ("region", "country", "industry", "company_size_band", "product_interest",
                           "owner_id", "team_id", "grade", "source")},
}  # fmt: skip
_PATH = [s.value for s in FUNNEL_PATH]
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhw]?)\s*$")
_UNIT_DAYS = {"": 1.0, "d": 1.0, "h": 1 / 24, "w": 7.0}


def parse_window(text: str | float | None, *, field: str = "window") -> float | None:
    """``'90d'`` -> 90.0 days; ``'36h'`` -> 1.5; ``'2w'`` -> 14.0; None stays None."""
    if text is None:
        return None
    if isinstance(text, int | float):
        days = float(text)
    else:
        match = _WINDOW.match(text)
        if not match:
            raise ValidationError(field, f"'{text}' is not a window such as 90d, 36h or 2w")
        days = float(match.group(1)) * _UNIT_DAYS[match.group(2)]
    if days <= 0:
        raise ValidationError(field, f"must be positive, got {text}")
    return days


@dataclass(frozen=True)
class FunnelSpec:
    """A lifecycle funnel question.

    ``steps`` is a subsequence of ``lead, mql, sql, opportunity, won``. A lead's time at a
    step is its first entry into that step's stage or any later step's (a skipped stage is
    reached when a later one is). ``window_days`` bounds the time from step 1 to every later
    step; ``step_windows[i]`` bounds the time from step i to step i+1.
    """

    steps: tuple[str, ...] = tuple(_PATH)
    mode: FunnelMode = FunnelMode.ORDERED
    window_days: float | None = None
    step_windows: tuple[float | None, ...] | None = None
    breakdown: str | None = None
    attribution: Attribution = Attribution.FIRST_TOUCH
    top_n: int | None = None
    cohort: CohortPeriod | None = None
    created_from: date | None = None
    created_to: date | None = None

    @property
    def breakdown_column(self) -> str | None:
        if self.breakdown is None:
            return None
        first, last = BREAKDOWNS[self.breakdown]
        return first if self.attribution is Attribution.FIRST_TOUCH else last


def _choice(enum: type[StrEnum], value: str | StrEnum | None, field: str) -> StrEnum | None:
    if value is None or isinstance(value, enum):
        return value
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise ValidationError(field, f"'{value}' is not one of: {choices}") from None


def _steps(steps: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if steps is None:
        return tuple(_PATH)
    cleaned = tuple(s.strip().lower() for s in steps)
    if not cleaned:
        raise ValidationError("steps", "at least one step is needed")
    for step in cleaned:
        if step not in _PATH:
            raise ValidationError(
                "steps", f"unknown step '{step}'; lifecycle steps are: {', '.join(_PATH)}"
            )
    order = [_PATH.index(s) for s in cleaned]
    if order != sorted(set(order)):
        raise ValidationError(
            "steps", f"steps must follow the funnel order {' > '.join(_PATH)} without repeats"
        )
    return cleaned


def funnel_spec(
    *,
    steps: list[str] | tuple[str, ...] | None = None,
    mode: str | FunnelMode | None = None,
    window: str | float | None = None,
    step_windows: list[str | float | None] | None = None,
    breakdown: str | None = None,
    attribution: str | Attribution | None = None,
    top_n: int | None = None,
    cohort: str | CohortPeriod | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> FunnelSpec:
    """Validate loose options into a :class:`FunnelSpec`; errors name the field."""
    clean_steps = _steps(steps)
    windows = None
    if step_windows is not None:
        if len(step_windows) != len(clean_steps) - 1:
            raise ValidationError(
                "step_windows",
                f"needs one window per step after the first ({len(clean_steps) - 1})",
            )
        windows = tuple(
            parse_window(w, field=f"step_windows[{i}]") for i, w in enumerate(step_windows)
        )
    if breakdown is not None and breakdown not in BREAKDOWNS:
        raise ValidationError(
            "breakdown",
            f"cannot break down by '{breakdown}'; expected one of: {', '.join(BREAKDOWNS)}",
        )
    if top_n is not None and not 1 <= top_n <= 1000:
        raise ValidationError("top_n", f"must be between 1 and 1000, got {top_n}")
    if created_from and created_to and created_from > created_to:
        raise ValidationError("created_from", "is after created_to")
    return FunnelSpec(
        steps=clean_steps,
        mode=_choice(FunnelMode, mode, "mode") or FunnelMode.ORDERED,  # type: ignore[arg-type]
        window_days=parse_window(window),
        step_windows=windows,
        breakdown=breakdown,
        attribution=_choice(Attribution, attribution, "attribution") or Attribution.FIRST_TOUCH,  # type: ignore[arg-type]
        top_n=top_n,
        cohort=_choice(CohortPeriod, cohort, "cohort"),  # type: ignore[arg-type]
        created_from=created_from,
        created_to=created_to,
    )
