"""Deals (opportunities) as a given caller.

A deal is seen by whoever sees its lead, and by its owner's managers; it is changed by
whoever may change its lead (``domain/access.py``). A stage move is checked against the
pipeline (``domain/pipeline.py``) and against the version the caller read (no silent
overwrite), appends to the stage history, and keeps the lead's lifecycle in step: a lead at
``sql`` moves to ``opportunity`` when its first deal opens, to ``won`` when a deal is won,
and to ``lost`` when every deal it has is lost (docs/concepts/lifecycle.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from leadfunnel.domain.access import Principal, lead_scope, require_role, writable_lead
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage
from leadfunnel.domain.pipeline import (
    OPEN_STAGES,
    PIPELINE,
    STAGE_PROBABILITY,
    check_forecast_category,
    check_opportunity_move,
)
from leadfunnel.services.leads import StaleVersion
from leadfunnel.services.money import parse_amount, parse_currency
from leadfunnel.services.paging import (
    Page,
    check_limit,
    cursor_time,
    decode_cursor,
    encode_cursor,
)
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "EDITABLE_FIELDS",
    "get_opportunity",
    "list_opportunities",
    "move_opportunity",
    "open_opportunity",
    "update_opportunity",
]
#: The deals list's order, named in its cursors (a cursor from another list is refused).
_DEALS_ORDER = "deals:-created_at"

#: What a PATCH may change on a deal (the stage moves through :func:`move_opportunity`).
EDITABLE_FIELDS = ("forecast_category", "next_step", "expected_close")


def _with_probability(row: Row) -> Row:
    return {**row, "probability": STAGE_PROBABILITY.get(row["stage"])}


def list_opportunities(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    stage: str | None = None,
    owner_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The opportunities the caller may see, newest first (of one lead, given ``lead_id``)."""
    check_limit(limit)
    if stage is not None and stage not in PIPELINE:
        raise ValidationError("stage", f"'{stage}' is not one of: {', '.join(PIPELINE)}")
    chosen = (("stage", stage), ("owner_id", owner_id), ("lead_id", lead_id))
    filters: dict[str, Any] = {k: v for k, v in chosen if v is not None}
    after = decode_cursor(cursor, order=_DEALS_ORDER)
    parsed = (cursor_time(after[0]), after[1]) if after else None
    with uow_factory(write=False) as uow:
        rows, total = uow.crm.opportunities(
            scope=lead_scope(principal), filters=filters, after=parsed, limit=limit
        )
    last = rows[-1] if len(rows) == limit else None
    return Page(items=[_with_probability(r) for r in rows], total=total,
                           next_cursor=encode_cursor(last["created_at"].isoformat(), last["id"], order=_DEALS_ORDER) if last else None)  # fmt: skip


def _visible_opportunity(uow: UnitOfWork, principal: Principal, opportunity_id: uuid.UUID) -> Row:
    row = uow.crm.opportunity(lead_scope(principal), opportunity_id)
    if row is None:
        raise NotFound("opportunity", opportunity_id)
    return row


def get_opportunity(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, opportunity_id: uuid.UUID
) -> Row:
    """The opportunity with its stage history, oldest first."""
    with uow_factory(write=False) as uow:
        row = _visible_opportunity(uow, principal, opportunity_id)
        history = uow.crm.opportunity_history(opportunity_id)
    return {**_with_probability(row), "history": history}


def _move_lead(
    uow: UnitOfWork, lead: Row, target: Stage, *, reason: str | None, actor: str, now: datetime
) -> None:
    """Move the lead along with its deals, when its lifecycle allows that move."""
    last = uow.transitions.last_for(lead["id"])
    current = Stage(last["to_stage"]) if last else Stage(lead["stage"])
    if current == target or target not in DEFAULT_LIFECYCLE.allowed_from(current):
        return
    at = max(now, last["at"]) if last else now
    uow.transitions.append({"id": new_id(), "lead_id": lead["id"], "from_stage": current.value,
                            "to_stage": target.value, "at": at, "actor": actor, "reason": reason})  # fmt: skip
    uow.leads.update(lead["id"], {"stage": target.value, "stage_entered_at": at, "updated_at": now,
                                  "version": lead["version"] + 1})  # fmt: skip


def open_opportunity(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_id: uuid.UUID,
    name: str,
    amount: Any,
    currency: str = "USD",
    stage: str = "qualification",
    expected_close: date | None = None,
    now: datetime,
) -> Row:
    """Open a deal on a lead (the caller must be allowed to change the lead); the lead moves
    to ``opportunity`` if its lifecycle allows."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if stage not in OPEN_STAGES:
        raise ValidationError("stage", f"a new deal starts in one of: {', '.join(OPEN_STAGES)}")
    with uow_factory() as uow:
        lead = dict(writable_lead(principal, uow.leads.get(lead_id), lead_id))
        row: Row = {"id": new_id(), "lead_id": lead_id, "account_id": lead["account_id"],
                    "owner_id": lead["owner_id"] or principal.user_id, "name": name, "amount": parse_amount(amount, field="amount"),
                    "currency": parse_currency(currency), "expected_close": expected_close, "stage": stage,
                    "lost_reason": None, "closed_at": None, "created_at": now, "updated_at": now, "version": 1,
                    "forecast_category": None, "next_step": None}  # fmt: skip
        uow.crm.add_opportunity(row)
        uow.crm.add_opportunity_history({"id": new_id(), "opportunity_id": row["id"], "from_stage": None,
                                         "to_stage": stage, "at": now, "actor": principal.actor, "reason": None})  # fmt: skip
        _move_lead(
            uow,
            lead,
            Stage.OPPORTUNITY,
            reason=f"deal opened: {name}",
            actor=principal.actor,
            now=now,
        )
        uow.audit.record(at=now, actor=principal.actor, action="opportunity.opened", entity="opportunity",
                         entity_id=row["id"], data={"lead_id": str(lead_id), "amount": str(row["amount"])})  # fmt: skip
        uow.commit()
    return _with_probability(row)


def move_opportunity(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    opportunity_id: uuid.UUID,
    to: str,
    expected_version: int,
    lost_reason: str | None = None,
    now: datetime,
) -> Row:
    """Move a deal to another pipeline stage (what a kanban drag does)."""
    with uow_factory() as uow:
        row = _visible_opportunity(uow, principal, opportunity_id)
        lead = uow.leads.get(row["lead_id"]) if row["lead_id"] else None
        if lead is not None:
            writable_lead(principal, lead, row["lead_id"])
        elif principal.role not in ("admin",) and row["owner_id"] != principal.user_id:
            require_role(principal, "admin", action="moving a deal without a lead")
        if row["version"] != expected_version:
            raise StaleVersion(opportunity_id, expected_version, row["version"], kind="deal")
        check_opportunity_move(row["stage"], to, lost_reason)
        closed = to in ("won", "lost")
        changes = {"stage": to, "updated_at": now, "version": expected_version + 1,
                   "lost_reason": lost_reason.strip() if to == "lost" and lost_reason else None,
                   "closed_at": now if closed else None}  # fmt: skip
        if not uow.crm.update_opportunity_if_version(opportunity_id, expected_version, changes):
            raise StaleVersion(opportunity_id, expected_version, expected_version + 1, kind="deal")
        uow.crm.add_opportunity_history({"id": new_id(), "opportunity_id": opportunity_id, "from_stage": row["stage"],
                                         "to_stage": to, "at": now, "actor": principal.actor,
                                         "reason": changes["lost_reason"]})  # fmt: skip
        if lead is not None and to == "won":
            _move_lead(
                uow,
                lead,
                Stage.WON,
                reason=f"deal won: {row['name']}",
                actor=principal.actor,
                now=now,
            )
        elif (
            lead is not None
            and to == "lost"
            and all(stage == "lost" for stage in uow.crm.lead_opportunity_stages(lead["id"]))
        ):
            _move_lead(uow, lead, Stage.LOST, reason=lost_reason, actor=principal.actor, now=now)
        uow.audit.record(at=now, actor=principal.actor, action="opportunity.moved", entity="opportunity",
                         entity_id=opportunity_id, data={"from": row["stage"], "to": to})  # fmt: skip
        updated = uow.crm.opportunity(lead_scope(principal), opportunity_id) or {**row, **changes}
        uow.commit()
    return _with_probability(updated)


def _checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(unknown[0], f"may not be changed here; editable: {', '.join(EDITABLE_FIELDS)}")
    checked = dict(changes)
    if checked.get("forecast_category") is not None:
        check_forecast_category(checked["forecast_category"])
    step = checked.get("next_step")
    if step is not None:
        checked["next_step"] = step.strip() or None
        if checked["next_step"] is not None and len(checked["next_step"]) > 200:
            raise ValidationError("next_step", "must be at most 200 characters")
    return checked


def update_opportunity(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    opportunity_id: uuid.UUID,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
) -> Row:
    """Change a deal's forecast category, next step or expected close (``None`` clears one).

    Whoever may move the deal may edit it; the version guards against silent overwrites. A
    closed deal keeps its history: its category no longer matters and is not accepted."""
    checked = _checked_changes(changes)
    with uow_factory() as uow:
        row = _visible_opportunity(uow, principal, opportunity_id)
        lead = uow.leads.get(row["lead_id"]) if row["lead_id"] else None
        if lead is not None:
            writable_lead(principal, lead, row["lead_id"])
        elif principal.role not in ("admin",) and row["owner_id"] != principal.user_id:
            require_role(principal, "admin", action="editing a deal without a lead")
        if row["version"] != expected_version:
            raise StaleVersion(opportunity_id, expected_version, row["version"], kind="deal")
        if row["stage"] not in OPEN_STAGES and checked.get("forecast_category") is not None:
            raise ValidationError("forecast_category", f"the deal is closed ({row['stage']})")
        update = {**checked, "updated_at": now, "version": expected_version + 1}
        if not uow.crm.update_opportunity_if_version(opportunity_id, expected_version, update):
            raise StaleVersion(opportunity_id, expected_version, expected_version + 1, kind="deal")
        uow.audit.record(at=now, actor=principal.actor, action="opportunity.updated", entity="opportunity",
                         entity_id=opportunity_id, data={k: None if v is None else str(v) for k, v in checked.items()})  # fmt: skip
        updated = uow.crm.opportunity(lead_scope(principal), opportunity_id) or {**row, **update}
        uow.commit()
    return _with_probability(updated)
