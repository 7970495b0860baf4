"""Reading leads: one lead's profile and timeline, filtered lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.lifecycle import parse_stage
from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = ["LIST_FILTERS", "LeadPage", "LeadView", "get_lead", "list_leads"]

#: Filters ``list_leads`` accepts; each is an exact match except ``search``.
LIST_FILTERS = ("stage", "channel", "region", "industry", "owner_id", "in_pool", "search")
_MAX_PAGE = 1000


@dataclass(frozen=True)
class LeadView:
    """A lead's profile and its unified timeline, oldest first."""

    lead: Row
    timeline: list[Row]


@dataclass(frozen=True)
class LeadPage:
    items: list[Row]
    total: int
    limit: int
    offset: int


def get_lead(*, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID) -> LeadView:
    """The lead and its timeline: stage changes, touchpoints, activities and owner changes
    (routing, claims, SLA reclaims) by time.

    Entries at the same instant keep a stable order: stage changes, then touchpoints, then
    activities, then assignments (a lead is created before the form submit that created it
    is shown, and before it is routed).
    """
    with uow_factory(write=False) as uow:
        lead = uow.leads.get(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        entries: list[tuple[Any, int, Row]] = []
        for t in uow.transitions.for_lead(lead_id):
            entries.append((t["at"], 0, {"type": "stage_change", **t}))
        for t in uow.touchpoints.for_lead(lead_id):
            entries.append((t["at"], 1, {"type": "touchpoint", **t}))
        for a in uow.activities.for_lead(lead_id):
            entries.append((a["at"], 2, {"type": "activity", **a}))
        for a in uow.routing.assignments_for(lead_id):
            entries.append((a["at"], 3, {"type": "assignment", **a}))
    entries.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    return LeadView(lead=lead, timeline=[row for _, _, row in entries])


def list_leads(
    *, uow_factory: UnitOfWorkFactory, filters: dict[str, Any], limit: int = 50, offset: int = 0
) -> LeadPage:
    """A page of leads matching ``filters`` (see :data:`LIST_FILTERS`), newest first."""
    unknown = sorted(set(filters) - set(LIST_FILTERS))
    if unknown:
        raise ValidationError(
            unknown[0], f"is not a lead filter; expected one of: {', '.join(LIST_FILTERS)}"
        )
    if not 1 <= limit <= _MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {_MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValidationError("offset", f"must be 0 or more, got {offset}")
    clean = {k: v for k, v in filters.items() if v is not None}
    if "stage" in clean:
        clean["stage"] = parse_stage(str(clean["stage"])).value
    with uow_factory(write=False) as uow:
        items, total = uow.leads.list(filters=clean, limit=limit, offset=offset)
    return LeadPage(items=items, total=total, limit=limit, offset=offset)
