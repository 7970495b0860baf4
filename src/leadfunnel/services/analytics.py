"""Analytics use cases: answer a funnel question with whichever engine the store has."""

from __future__ import annotations

from datetime import date, datetime

from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.services.ports import FunnelEngine

__all__ = ["run_funnel"]


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
