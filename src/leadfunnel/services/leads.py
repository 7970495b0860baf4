"""Reading and editing leads as a given caller: one lead's profile and timeline, keyset pages
of filtered lists, versioned profile updates. Every function takes the :class:`Principal`
and applies ``domain/access.py``: what the caller may not see is *not found*."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.access import (
    SALES_NOTE_KINDS,
    Principal,
    lead_scope,
    visible_lead,
    writable_lead,
)
from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.domain.lead import UTM_KEYS
from leadfunnel.domain.lifecycle import parse_stage
from leadfunnel.services.automation import after_leads_changed
from leadfunnel.services.intake import IntakeResult, intake_lead
from leadfunnel.services.lead_input import (
    LEAD_INPUT_FIELDS,
    parse_company_size,
    parse_custom_fields,
    parse_lead_input,
)
from leadfunnel.services.normalise import clean_company, company_key
from leadfunnel.services.paging import cursor_time, decode_cursor, encode_cursor, refuse_cursor
from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = [
    "EDITABLE_FIELDS",
    "LIST_FILTERS",
    "LIST_SORTS",
    "LeadPage",
    "LeadView",
    "StaleVersion",
    "TOUCH_FIELDS",
    "get_lead",
    "list_leads",
    "record_touchpoint",
    "update_lead",
]

#: Filters ``list_leads`` accepts; each is an exact match except ``search``.
LIST_FILTERS = (
    "stage", "channel", "region", "industry", "grade", "owner_id", "team_id", "in_pool", "search",
)  # fmt: skip
#: Columns a list may be sorted by (``-`` before the name for descending).
LIST_SORTS = ("created_at", "updated_at", "stage_entered_at", "score")
#: Profile fields an update may change. Identity (email, phone, external id), stage, owner
#: and score have their own paths (intake merges, moves, routing, scoring).
EDITABLE_FIELDS = (
    "first_name", "last_name", "company", "title", "region", "country", "industry",
    "company_size", "product_interest", "custom_fields",
)  # fmt: skip
MAX_PAGE = 1000


class StaleVersion(DomainError):
    """An update based on a version of a record (a lead, a deal) that is no longer current."""

    code = "stale_version"

    def __init__(self, key: uuid.UUID, expected: int, current: int, *, kind: str = "lead") -> None:
        super().__init__(
            f"{kind} {key} changed since you read it (you had version {expected}, it is now "
            f"{current}); read it again and re-apply your change"
        )
        self.current = current


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
    next_cursor: str | None


def get_lead(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: uuid.UUID
) -> LeadView:
    """The lead and its timeline: stage changes, touchpoints, activities and owner changes
    (routing, claims, SLA reclaims) by time.

    Entries at the same instant keep a stable order: stage changes, then touchpoints, then
    activities, then assignments (a lead is created before the form submit that created it
    is shown, and before it is routed). A marketer's timeline leaves out sales notes.
    """
    with uow_factory(write=False) as uow:
        lead = dict(visible_lead(principal, uow.leads.get(lead_id), lead_id))
        entries: list[tuple[Any, int, Row]] = []
        for t in uow.transitions.for_lead(lead_id):
            entries.append((t["at"], 0, {"type": "stage_change", **t}))
        for t in uow.touchpoints.for_lead(lead_id):
            entries.append((t["at"], 1, {"type": "touchpoint", **t}))
        for a in uow.activities.for_lead(lead_id):
            if principal.role == "marketer" and a["kind"] in SALES_NOTE_KINDS:
                continue
            entries.append((a["at"], 2, {"type": "activity", **a}))
        for a in uow.routing.assignments_for(lead_id):
            entries.append((a["at"], 3, {"type": "assignment", **a}))
    entries.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    return LeadView(lead=lead, timeline=[row for _, _, row in entries])


#: The scores a cursor may carry: a stored score (a 32-bit integer), or -1 for none.
_SCORE_RANGE = range(-(2**31), 2**31)


def _encode_cursor(sort: str, value: Any, lead_id: uuid.UUID) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return encode_cursor(text, lead_id, order=f"leads:{sort}")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    """The sort value and lead id after which a page of ``sort`` (direction included)
    continues: an int for ``score``, a UTC time otherwise."""
    after = decode_cursor(cursor, order=f"leads:{sort}")
    assert after is not None  # (a cursor was given)
    text, key = after
    if sort.removeprefix("-") != "score":
        return cursor_time(text), key
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or int(text) not in _SCORE_RANGE:
        refuse_cursor()
    return int(text), key


def list_leads(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    filters: Mapping[str, Any],
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> LeadPage:
    """A page of the leads ``principal`` may see that match ``filters`` (see
    :data:`LIST_FILTERS`), ordered by ``sort``; ``next_cursor`` fetches the next page."""
    unknown = sorted(set(filters) - set(LIST_FILTERS))
    if unknown:
        raise ValidationError(
            unknown[0], f"is not a lead filter; expected one of: {', '.join(LIST_FILTERS)}"
        )
    column = sort.removeprefix("-")
    if column not in LIST_SORTS:
        raise ValidationError(
            "sort",
            f"'{sort}' is not a sort; expected one of {', '.join(LIST_SORTS)}, '-' first for descending",
        )
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
    after = _decode_cursor(cursor, sort) if cursor else None
    clean = {k: v for k, v in filters.items() if v is not None}
    if "stage" in clean:
        clean["stage"] = parse_stage(str(clean["stage"])).value
    for name in ("owner_id", "team_id"):
        if name in clean and not isinstance(clean[name], uuid.UUID):
            try:
                clean[name] = uuid.UUID(str(clean[name]))
            except ValueError:
                raise ValidationError(name, f"'{clean[name]}' is not a UUID") from None
    with uow_factory(write=False) as uow:
        items, total = uow.leads.page(scope=lead_scope(principal), filters=clean, sort=column,
                                      descending=sort.startswith("-"), after=after, limit=limit)  # fmt: skip
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        value = (
            last[column]
            if column != "score"
            else (last["score"] if last["score"] is not None else -1)
        )
        next_cursor = _encode_cursor(sort, value, last["id"])
    return LeadPage(items=items, total=total, limit=limit, next_cursor=next_cursor)


def _checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(
                name, f"cannot be changed here; editable fields: {', '.join(EDITABLE_FIELDS)}"
            )
        # The same checks and normal forms as intake (services/lead_input.py).
        if name == "custom_fields":
            if not isinstance(value, dict):
                raise ValidationError(name, "must be an object of named values")
            value = parse_custom_fields(value)
        elif name == "company_size":
            if value is not None and not isinstance(value, int):
                raise ValidationError(name, "must be a whole number of employees")
            value = parse_company_size(value)
        elif value is not None:
            if not isinstance(value, str):
                raise ValidationError(name, "must be text")
            value = value.strip() or None
            limit = LEAD_INPUT_FIELDS[name]
            if value is not None and len(value) > limit:
                raise ValidationError(name, f"is longer than {limit} characters")
        if name == "company":  # the matching key follows the name
            value = clean_company(value) or None if value is not None else None
            clean["company_key"] = company_key(value) or None if value is not None else None
        clean[name] = value
    return clean


def update_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_id: uuid.UUID,
    changes: Mapping[str, Any],
    expected_version: int,
    now: datetime,
) -> Row:
    """Change profile fields of a lead read at ``expected_version``. A concurrent change in
    between raises :class:`StaleVersion` and writes nothing: no update is silently lost."""
    clean = _checked_changes(changes)
    if not clean:
        raise ValidationError("body", "name at least one field to change")
    with uow_factory() as uow:
        lead = writable_lead(principal, uow.leads.get(lead_id), lead_id)
        if lead["version"] != expected_version:
            raise StaleVersion(lead_id, expected_version, lead["version"])
        values = {**clean, "updated_at": now, "version": expected_version + 1}
        if not uow.leads.update_if_version(lead_id, expected_version, values):
            current = uow.leads.get(lead_id)
            raise StaleVersion(lead_id, expected_version, current["version"] if current else -1)
        before = {k: lead[k] for k in clean}
        uow.audit.record(at=now, actor=principal.actor, action="lead.updated", entity="lead",
                         entity_id=lead_id, data={"before": before, "after": clean})  # fmt: skip
        # Fit rules read these fields: the score follows the profile in the same transaction.
        after_leads_changed(uow=uow, changed=[lead_id], now=now, actor=principal.actor)
        updated = uow.leads.get(lead_id)
        uow.commit()
    assert updated is not None
    return updated


#: What a touchpoint recorded on a known lead may carry (the intake fields of a touch).
TOUCH_FIELDS = ("touchpoint_kind", "occurred_at", "landing_url", "referrer", "channel", "campaign",
                *(f"utm_{key}" for key in UTM_KEYS))  # fmt: skip


def record_touchpoint(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_id: uuid.UUID,
    touch: Mapping[str, Any],
    now: datetime,
    default_region: str,
) -> IntakeResult:
    """Record a behaviour event (page view, download, webinar, email click...) on a lead the
    caller may change, or any lead they see if they are in marketing. It goes through intake
    as a submission of the lead's own identity, so it merges into that lead: last touch,
    behaviour score and qualification follow as for any submission."""
    unknown = sorted(set(touch) - set(TOUCH_FIELDS))
    if unknown:
        raise ValidationError(
            unknown[0], f"is not a touchpoint field; expected: {', '.join(TOUCH_FIELDS)}"
        )
    if not touch.get("touchpoint_kind"):
        raise ValidationError(
            "touchpoint_kind", "name the kind of event, e.g. page_view or webinar"
        )
    with uow_factory(write=False) as uow:
        lead = visible_lead(principal, uow.leads.get(lead_id), lead_id)
        if principal.role != "marketer":
            writable_lead(principal, lead, lead_id)
    identity = next((name for name in ("email", "phone", "external_id") if lead[name]), None)
    assert identity is not None  # the store's check constraint: every lead has one
    draft = parse_lead_input(
        {identity: lead[identity], **touch}, now=now, default_region=default_region
    )
    return intake_lead(
        uow_factory=uow_factory, draft=draft, source="api", actor=principal.actor, now=now
    )
