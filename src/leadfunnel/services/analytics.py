"""Analytics use cases: answer a funnel question with whichever engine the store has."""

from __future__ import annotations

from datetime import date, datetime

from leadfunnel.analytics.durations import DurationStats
from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.analytics.funnel_spec import FunnelSpec, funnel_spec
from leadfunnel.services.ports import FunnelEngine

__all__ = ["run_funnel", "time_in_stage", "time_to_convert"]


def run_funnel(
    *,
    engine: FunnelEngine,
    now: datetime,
    steps: list[str] | None = None,
    mode: str | None = None,
    window: str | None = None,
    breakdown: str | None = None,
    attribution: str | None = None,
    cohort: str | None = None,
    top_n: int | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> FunnelResult:
    """Validate the question (errors name the option), then ask the engine."""
    spec = funnel_spec(
        steps=steps, mode=mode, window=window, breakdown=breakdown, attribution=attribution,
        cohort=cohort, top_n=top_n, created_from=created_from, created_to=created_to,
    )  # fmt: skip
    return engine.funnel(spec, now=now)


def time_in_stage(*, engine: FunnelEngine, now: datetime) -> dict[str, DurationStats]:
    """Per stage: finished stays' durations, and how many leads are in it now."""
    return engine.stage_times(now=now)


def time_to_convert(
    *,
    engine: FunnelEngine,
    now: datetime,
    steps: list[str] | None = None,
    window: str | None = None,
    mode: str | None = None,
) -> tuple[FunnelSpec, list[DurationStats]]:
    """Time from each funnel step to the next, for the leads counted at both."""
    spec = funnel_spec(steps=steps, window=window, mode=mode)
    return spec, engine.step_times(spec, now=now)
