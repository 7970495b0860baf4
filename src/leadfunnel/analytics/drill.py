"""Drill-down: which leads make up one cell of a funnel.

A cell is a step, an outcome at that step (``reached``, ``converted``, ``open`` or
``dropped``, with the funnel's meanings) and optionally a breakdown value and a cohort.
Leads come back ordered by their time at the step (earliest first), then by id, so pages
are stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from leadfunnel.analytics.funnel_oracle import (
    LeadHistory,
    is_open,
    lead_cohort,
    lead_group,
    lead_step_times,
)
from leadfunnel.analytics.funnel_spec import FunnelSpec
from leadfunnel.domain.errors import ValidationError

__all__ = ["Outcome", "DrillSpec", "drill_spec", "oracle_drill"]


class Outcome(StrEnum):
    REACHED = "reached"
    CONVERTED = "converted"
    OPEN = "open"
    DROPPED = "dropped"


@dataclass(frozen=True)
class DrillSpec:
    funnel: FunnelSpec
    step: int
    outcome: Outcome
    group: str | None = None
    cohort: date | None = None


def drill_spec(
    funnel: FunnelSpec,
    *,
    step: str,
    outcome: str = "reached",
    group: str | None = None,
    cohort: date | None = None,
) -> DrillSpec:
    """Validate a cell: the step must be one of the funnel's; converted/open/dropped need a next step."""
    if step not in funnel.steps:
        raise ValidationError(
            "step", f"'{step}' is not a step of this funnel ({', '.join(funnel.steps)})"
        )
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise ValidationError(
            "outcome", f"'{outcome}' is not one of: {', '.join(o.value for o in Outcome)}"
        ) from None
    index = funnel.steps.index(step)
    if chosen is not Outcome.REACHED and index == len(funnel.steps) - 1:
        raise ValidationError("outcome", f"'{chosen.value}' needs a step after '{step}'")
    if group is not None and funnel.breakdown is None:
        raise ValidationError("group", "a breakdown value needs a breakdown (--by)")
    if cohort is not None and funnel.cohort is None:
        raise ValidationError("cohort", "a cohort needs a cohort period (--cohort)")
    return DrillSpec(funnel, index, chosen, group, cohort)


def _in_cell(lead: LeadHistory, cell: DrillSpec, now: datetime) -> datetime | None:
    spec, k = cell.funnel, cell.step
    measured = lead_step_times(lead, spec)
    if measured is None or not measured[1][k]:
        return None
    times, counted = measured
    if cell.group is not None and lead_group(lead, spec) != cell.group:
        return None
    if cell.cohort is not None and lead_cohort(lead, spec, times) != cell.cohort:
        return None
    if cell.outcome is Outcome.REACHED:
        return times[k]
    converted = counted[k + 1]
    still_open = not converted and is_open(lead, spec, k, times, now)
    wanted = {
        Outcome.CONVERTED: converted,
        Outcome.OPEN: still_open,
        Outcome.DROPPED: not converted and not still_open,
    }
    return times[k] if wanted[cell.outcome] else None


def oracle_drill(
    leads: Iterable[tuple[Any, LeadHistory]], cell: DrillSpec, *, now: datetime
) -> list[Any]:
    """Ids of the leads in the cell, by time at the step then id. ``leads`` are (id, history)."""
    found = [
        (at, lead_id) for lead_id, lead in leads if (at := _in_cell(lead, cell, now)) is not None
    ]
    return [lead_id for _, lead_id in sorted(found, key=lambda pair: (pair[0], str(pair[1])))]
