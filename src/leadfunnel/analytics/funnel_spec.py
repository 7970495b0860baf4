"""What a funnel question is: a frozen, validated spec, normalised once.

Every engine and the oracle take a :class:`FunnelSpec`; none of them re-interprets raw
options. :func:`funnel_spec` builds one from loose input (CLI, API) and refuses anything
unknown, naming the field.

>>> spec = funnel_spec(steps=["mql", "won"], window="90d", breakdown="channel")
>>> spec.steps, spec.window_days, spec.breakdown_column
(('mql', 'won'), 90.0, 'channel')

An **event funnel** has steps over touchpoint kinds and stages (``analytics/funnel_events.py``)
and may have exclusion steps; a lifecycle funnel with exclusions is an event funnel over its
stages:

>>> spec = funnel_spec(events=["ad_click", "form_submit", "opportunity"], exclude=["unsubscribe"])
>>> spec.steps, spec.is_event_funnel, [e.label for e in spec.exclusions]
(('ad_click', 'form_submit', 'opportunity'), True, ['unsubscribe'])
>>> funnel_spec(breakdown="custom_fields.plan").custom_key
'plan'

``filters`` keep only matching leads (``analytics/dimensions.py``: values of one dimension
are alternatives, dimensions must all match; channel, campaign and UTM filters follow the
attribution, as breakdowns do):

>>> funnel_spec(filters=["channel=webinar", "region=EMEA", "custom.plan=gold"]).filters
(('channel', ('webinar',)), ('custom.plan', ('gold',)), ('region', ('EMEA',)))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from leadfunnel.analytics.dimensions import (
    BREAKDOWNS,
    FilterInput,
    Filters,
    custom_dimension,
    parse_filters,
)
from leadfunnel.analytics.funnel_events import FunnelEvent, parse_events, stage_event
from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = [
    "Attribution",
    "BREAKDOWNS",
    "CohortBasis",
    "CohortPeriod",
    "FunnelMode",
    "FunnelSpec",
    "custom_field_key",
    "funnel_spec",
    "parse_window",
]


class FunnelMode(StrEnum):
    #: Steps reached in funnel order (skipped stages count as reached).
    ORDERED = "ordered"
    #: Each step's stage entered directly from the previous step's, nothing in between (event
    #: funnels: no other event of any kind between two steps).
    STRICT = "strict"
    #: Steps reached in any order (for lifecycle steps the same as ordered; event funnels:
    #: every step done, the span of their first times within the window).
    ANY = "any"


class CohortPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class CohortBasis(StrEnum):
    #: The period in which the lead was created.
    CREATED = "created"
    #: The period in which the lead did the funnel's first step (entered the funnel).
    ENTERED = "entered"


class Attribution(StrEnum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"


_E = TypeVar("_E", bound=StrEnum)
_PATH = [s.value for s in FUNNEL_PATH]
#: Lead stages in which a lead is still moving along the path (not closed, not parked).
_OPEN_PATH = _PATH[:-1]
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
    """A funnel question.

    Lifecycle funnel (``events`` is None): ``steps`` is a subsequence of ``lead, mql, sql,
    opportunity, won``. A lead's time at a step is its first entry into that step's stage or
    any later step's (a skipped stage is reached when a later one is).

    Event funnel: ``events`` are the steps (``steps`` holds their labels) and ``exclusions``
    the events that drop a lead between two steps; the oracle's docstring has the semantics.

    ``window_days`` bounds the time from step 1 to every later step; ``step_windows[i]``
    bounds the time from step i to step i+1. ``breakdown`` is a dimension of
    :data:`BREAKDOWNS` or ``custom.NAME`` (a custom field). ``filters`` (sorted
    ``(dimension, values)`` pairs, dimensions as for ``breakdown``) keep only the leads whose
    value of every filtered dimension is one of its values (``(none)``: empty).
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
    events: tuple[FunnelEvent, ...] | None = None
    exclusions: tuple[FunnelEvent, ...] = ()
    cohort_by: CohortBasis = CohortBasis.CREATED
    #: Only leads owned by these users (UUID text); None: every lead. How a caller's report
    #: is limited to what they may see (``domain/access.py``, ``analytics_owners``).
    owners: frozenset[str] | None = None
    filters: Filters = ()

    @property
    def is_event_funnel(self) -> bool:
        return self.events is not None

    @property
    def step_events(self) -> tuple[FunnelEvent, ...]:
        """The steps as events (a lifecycle funnel's are stage events)."""
        return self.events if self.events is not None else tuple(map(stage_event, self.steps))

    @property
    def custom_key(self) -> str | None:
        """The custom field a ``custom.NAME`` breakdown reads, else None."""
        return None if self.breakdown is None else custom_field_key(self.breakdown)

    @property
    def breakdown_column(self) -> str | None:
        """The lead column a dimension breakdown reads (None without one, or for a custom field)."""
        return None if self.breakdown is None else self.column(self.breakdown)

    def column(self, dimension: str) -> str | None:
        """The lead column a dimension reads under this spec's attribution (None for a
        custom field: ``custom_field_key`` names it)."""
        if custom_field_key(dimension) is not None:
            return None
        first, last = BREAKDOWNS[dimension]
        return first if self.attribution is Attribution.FIRST_TOUCH else last

    def open_stages(self, k: int) -> tuple[str, ...]:
        """Current stages in which a lead counted at step k, but not at k+1, is still on its
        way (``open``): on the path and not closed, at or after step k's stage and before step
        k+1's when those are path stages. For lifecycle steps ``mql, opportunity``: mql, sql.
        """
        here, there = self.step_events[k].path_index, self.step_events[k + 1].path_index
        return tuple(_OPEN_PATH[here or 0 : len(_OPEN_PATH) if there is None else there])


def custom_field_key(dimension: str) -> str | None:
    """``custom.plan`` -> ``plan``; None for a lead column's dimension."""
    return dimension.removeprefix("custom.") if dimension.startswith("custom.") else None


def _choice(enum: type[_E], value: str | _E | None, field: str) -> _E | None:
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


def _breakdown(value: str | None) -> str | None:
    if value is None or value in BREAKDOWNS:
        return value
    custom = custom_dimension(value)
    if custom is not None:
        return custom
    if value.startswith(("custom.", "custom_fields.")):
        raise ValidationError(
            "breakdown", f"'{value}': a custom field is custom.NAME (letters, digits and '_')"
        )
    raise ValidationError(
        "breakdown",
        f"cannot break down by '{value}'; expected one of: {', '.join(BREAKDOWNS)}, "
        "or custom.NAME for a custom field",
    )


def _events(
    events: list[str] | tuple[str, ...] | None,
    exclude: list[str] | tuple[str, ...] | None,
    steps: tuple[str, ...],
    mode: FunnelMode,
) -> tuple[tuple[FunnelEvent, ...] | None, tuple[FunnelEvent, ...]]:
    """The event steps and exclusions; exclusions turn a lifecycle funnel into an event one."""
    exclusions = parse_events(exclude, field="exclude") if exclude else ()
    if events is None and not exclusions:
        return None, ()
    parsed = (
        parse_events(events, field="events")
        if events is not None
        else tuple(map(stage_event, steps))
    )
    if not parsed:
        raise ValidationError("events", "at least one step is needed")
    if events is None and mode is not FunnelMode.ORDERED:
        raise ValidationError(
            "mode",
            f"lifecycle steps with exclusions are an ordered event funnel; for mode {mode.value} "
            "give the steps as events (events/--events)",
        )
    if mode is FunnelMode.ANY:
        repeated = next((e for i, e in enumerate(parsed) if e in parsed[:i]), None)
        if repeated is not None:
            raise ValidationError(
                "mode",
                f"mode any: step '{repeated.label}' repeats; a repeated step needs an order "
                "(use ordered or strict)",
            )
    for excluded in exclusions:
        if excluded in parsed:
            raise ValidationError(
                "exclude",
                f"'{excluded.label}' is a step of this funnel; it cannot also be excluded",
            )
    return parsed, exclusions


def funnel_spec(
    *,
    steps: list[str] | tuple[str, ...] | None = None,
    events: list[str] | tuple[str, ...] | None = None,
    exclude: list[str] | tuple[str, ...] | None = None,
    mode: str | FunnelMode | None = None,
    window: str | float | None = None,
    step_windows: list[str | float | None] | None = None,
    breakdown: str | None = None,
    attribution: str | Attribution | None = None,
    top_n: int | None = None,
    cohort: str | CohortPeriod | None = None,
    cohort_by: str | CohortBasis | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    owners: Iterable[object] | None = None,
    filters: FilterInput = None,
) -> FunnelSpec:
    """Validate loose options into a :class:`FunnelSpec`; errors name the field.

    ``steps`` are lifecycle stages; ``events`` (instead of ``steps``) are event-funnel steps
    such as ``["ad_click", "form_submit", "opportunity"]``; ``exclude`` lists exclusion events;
    ``filters`` are ``DIMENSION=VALUE`` strings or a mapping (field ``where`` in errors).
    """
    if events is not None and steps is not None:
        raise ValidationError("events", "give lifecycle steps or event steps, not both")
    chosen_mode = _choice(FunnelMode, mode, "mode") or FunnelMode.ORDERED
    lifecycle = _steps(steps) if events is None else None
    event_steps, exclusions = _events(events, exclude, lifecycle or (), chosen_mode)
    clean_steps = lifecycle or tuple(e.label for e in event_steps or ())
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
        if event_steps is not None and chosen_mode is FunnelMode.ANY:
            raise ValidationError(
                "step_windows",
                "an event funnel in mode any has no step order; give one window from the first step",
            )
    basis = _choice(CohortBasis, cohort_by, "cohort_by") or CohortBasis.CREATED
    if basis is CohortBasis.ENTERED and cohort is None:
        raise ValidationError("cohort_by", "needs a cohort period (day, week, month or quarter)")
    if top_n is not None and not 1 <= top_n <= 1000:
        raise ValidationError("top_n", f"must be between 1 and 1000, got {top_n}")
    if created_from and created_to and created_from > created_to:
        raise ValidationError(
            "created_from", f"{created_from} is after the end of the period, {created_to}"
        )
    return FunnelSpec(
        steps=clean_steps,
        mode=chosen_mode,
        window_days=parse_window(window),
        step_windows=windows,
        breakdown=_breakdown(breakdown),
        attribution=_choice(Attribution, attribution, "attribution") or Attribution.FIRST_TOUCH,
        top_n=top_n,
        cohort=_choice(CohortPeriod, cohort, "cohort"),
        created_from=created_from,
        created_to=created_to,
        events=event_steps,
        exclusions=exclusions,
        cohort_by=basis,
        owners=None if owners is None else frozenset(str(o) for o in owners),
        filters=parse_filters(filters, custom_fields=True),
    )
