"""Analytics use cases: answer a funnel question with whichever engine the store has.

Each takes the caller (:class:`Principal`; the CLI is ``SYSTEM``): a manager's or rep's
funnel counts only the leads their team or they own (``domain/access.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from leadfunnel.analytics.drill import drill_spec
from leadfunnel.analytics.durations import DurationStats
from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.analytics.funnel_spec import FunnelSpec, funnel_spec
from leadfunnel.analytics.stagnation import StagnationRow, stagnation_spec
from leadfunnel.domain.access import SYSTEM, Principal, analytics_owners
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.ports import FunnelEngine, Row, UnitOfWorkFactory

__all__ = [
    "DrillPage",
    "drill_leads",
    "run_funnel",
    "stagnant_leads",
    "time_in_stage",
    "time_to_convert",
    "time_to_convert_by",
]


def run_funnel(
    *,
    engine: FunnelEngine,
    now: datetime,
    steps: list[str] | None = None,
    events: list[str] | None = None,
    exclude: list[str] | None = None,
    mode: str | None = None,
    window: str | None = None,
    breakdown: str | None = None,
    attribution: str | None = None,
    cohort: str | None = None,
    cohort_by: str | None = None,
    top_n: int | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    where: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
) -> FunnelResult:
    """Validate the question (errors name the option), then ask the engine.

    ``steps`` are lifecycle stages; ``events`` (instead) are event-funnel steps over
    touchpoint kinds and stages; ``exclude`` drops leads that did these events between two
    steps; ``cohort_by`` is ``created`` (default) or ``entered`` (the period of step 1);
    ``where`` holds ``DIMENSION=VALUE`` filters, e.g. ``["channel=webinar", "region=EMEA"]``
    (a dimension or ``custom.NAME``; values of one dimension are alternatives).
    """
    spec = funnel_spec(
        steps=steps, events=events, exclude=exclude, mode=mode, window=window, breakdown=breakdown,
        attribution=attribution, cohort=cohort, cohort_by=cohort_by, top_n=top_n,
        created_from=created_from, created_to=created_to, owners=analytics_owners(principal),
        filters=list(where or ()),
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
    events: list[str] | None = None,
    exclude: list[str] | None = None,
    attribution: str | None = None,
    where: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
) -> tuple[FunnelSpec, list[DurationStats]]:
    """Time from each funnel step to the next, for the leads counted at both; the steps are
    lifecycle ``steps`` or, as for :func:`run_funnel`, event steps (``events``) with
    exclusions (``exclude``), of the leads matching the ``where`` filters (channel, campaign
    and UTM filters read the ``attribution``'s touch)."""
    spec = funnel_spec(
        steps=steps, events=events, exclude=exclude, window=window, mode=mode, attribution=attribution,
        owners=analytics_owners(principal), filters=list(where or ()),
    )  # fmt: skip
    return spec, engine.step_times(spec, now=now)


def time_to_convert_by(
    *,
    engine: FunnelEngine,
    now: datetime,
    breakdown: str,
    steps: list[str] | None = None,
    window: str | None = None,
    mode: str | None = None,
    events: list[str] | None = None,
    exclude: list[str] | None = None,
    attribution: str | None = None,
    where: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
) -> tuple[FunnelSpec, dict[str, list[DurationStats]]]:
    """:func:`time_to_convert` per value of a breakdown (a dimension or ``custom.NAME``),
    grouped as the funnel groups its leads."""
    spec = funnel_spec(
        steps=steps, events=events, exclude=exclude, window=window, mode=mode, breakdown=breakdown,
        attribution=attribution, owners=analytics_owners(principal), filters=list(where or ()),
    )  # fmt: skip
    return spec, engine.step_times_by(spec, now=now)


def stagnant_leads(*, engine: FunnelEngine, now: datetime, threshold: str) -> list[StagnationRow]:
    """Per open stage: leads in it, those there longer than ``threshold`` (``30d`` or
    ``mql=14d,sql=30d``), and the longest stay."""
    return engine.stagnation(stagnation_spec(threshold), now=now)


@dataclass(frozen=True)
class DrillPage:
    """One page of the leads behind a funnel cell, with their owner and last activity."""

    items: list[Row]
    total: int
    limit: int
    offset: int


def drill_leads(
    *,
    engine: FunnelEngine,
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    step: str,
    outcome: str = "reached",
    by_value: tuple[str, str] | None = None,
    cohort_value: date | None = None,
    limit: int = 50,
    offset: int = 0,
    where: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
    **funnel: Any,
) -> DrillPage:
    """The leads in one cell (step x outcome x breakdown value x cohort) of a funnel.

    ``by_value`` is (dimension, value), e.g. ``("channel", "webinar")``; ``funnel`` takes
    the same options as :func:`run_funnel`, ``where`` its filters.
    """
    if not 1 <= limit <= 1000:
        raise ValidationError("limit", f"must be between 1 and 1000, got {limit}")
    if offset < 0:
        raise ValidationError("offset", f"must be 0 or more, got {offset}")
    if by_value is not None:
        funnel["breakdown"] = by_value[0]
    spec = funnel_spec(**funnel, owners=analytics_owners(principal), filters=list(where or ()))
    cell = drill_spec(
        spec,
        step=step,
        outcome=outcome,
        group=by_value[1] if by_value else None,
        cohort=cohort_value,
    )
    ids, total = engine.drill(cell, now=now, limit=limit, offset=offset)
    with uow_factory(write=False) as uow:
        leads = {row["id"]: row for row in uow.records.select_in("leads", "id", ids)}
        last: dict[uuid.UUID, Row] = {}
        for activity in uow.records.select_in("activities", "lead_id", ids):
            if activity["lead_id"] not in last or activity["at"] > last[activity["lead_id"]]["at"]:
                last[activity["lead_id"]] = activity
    items = [{**leads[i], "last_activity": last.get(i)} for i in ids if i in leads]
    return DrillPage(items=items, total=total, limit=limit, offset=offset)
