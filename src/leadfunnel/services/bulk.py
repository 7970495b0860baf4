"""Bulk actions on a selection of leads: assign to a rep, move stage, export.

Each lead is done on its own (its own transaction, its own access check, its own audit
entry), so one refused lead never undoes or blocks the others; the result lists what was
done and, per refused lead, why. The checks are the single-lead ones:

* **assign**: admins and managers give a lead to an active rep (a manager only to a rep of
  their team, and only leads they may change). A pool lead is *pushed* (``services/pool.py``,
  as ``POST /leads/{id}/assign``); an owned lead is *handed over*, recorded as an
  assignment with the previous owner and the reason, and its first-response clock restarts
  for the new owner under the active SLA policy.
* **move**: :func:`~leadfunnel.services.lifecycle.move_lead` per lead (the lifecycle's moves
  and gates; ``lost`` and ``disqualified`` need a reason).
* **export**: the selected leads the caller may see, with the columns of the leads export.

A selection holds at most :data:`MAX_SELECTION` leads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.domain.access import Forbidden, Principal, require_role, visible_lead, writable_lead
from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.exports import LEAD_EXPORT_COLUMNS, Table
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.pool import active_rep, push_lead, start_sla_clock
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["BULK_ACTIONS", "MAX_SELECTION", "BulkResult", "assign_leads", "export_leads", "move_leads"]

BULK_ACTIONS = ("assign", "move", "export")
MAX_SELECTION = 500


@dataclass
class BulkResult:
    action: str
    done: list[uuid.UUID] = field(default_factory=list)
    #: (lead id, why it was refused)
    refused: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "done": [str(i) for i in self.done],
                "refused": [{"lead_id": str(i), "reason": r} for i, r in self.refused]}  # fmt: skip


def _selection(lead_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(lead_ids))
    if not unique:
        raise ValidationError("ids", "select at least one lead")
    if len(unique) > MAX_SELECTION:
        raise ValidationError("ids", f"select at most {MAX_SELECTION} leads, got {len(unique)}")
    return unique


def assign_leads(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_ids: Sequence[uuid.UUID],
    rep_id: uuid.UUID,
    now: datetime,
) -> BulkResult:
    """Give each lead to ``rep_id`` (see the module doc for who may, and how)."""
    require_role(principal, "admin", "manager", action="assigning leads")
    if principal.role == "manager" and rep_id not in principal.team_members:
        raise Forbidden("a manager assigns leads only to reps of their own team")
    with uow_factory(write=False) as uow:
        rep = active_rep(uow, rep_id)  # an unknown or inactive rep refuses the whole selection
    result = BulkResult("assign")
    for lead_id in _selection(lead_ids):
        try:
            _assign_one(uow_factory, principal, lead_id, rep, now)
        except DomainError as exc:
            result.refused.append((lead_id, exc.message))
        else:
            result.done.append(lead_id)
    return result


def _assign_one(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_id: uuid.UUID,
    rep: dict[str, Any],
    now: datetime,
) -> None:
    with uow_factory(write=False) as uow:
        lead = visible_lead(principal, uow.leads.get(lead_id), lead_id)
    if lead["in_pool"]:
        push_lead(uow_factory=uow_factory, lead_id=lead_id, rep_id=rep["id"], now=now,
                  actor=principal.actor)  # fmt: skip
        return
    if lead["owner_id"] == rep["id"]:
        raise ValidationError("rep", f"{rep['name']} already owns it")
    writable_lead(principal, lead, lead_id)
    reason = f"handed over to {rep['name']} by {principal.actor}"
    with uow_factory() as uow:
        current = writable_lead(principal, uow.leads.get(lead_id), lead_id)  # as it is now
        team = next((row["id"] for row in uow.routing.teams() if row["name"] == rep["team"]), None)
        uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead_id, "from_owner_id": current["owner_id"],
                                            "to_owner_id": rep["id"], "team_id": team, "at": now, "actor": principal.actor,
                                            "rule": "handover", "reason": reason}])  # fmt: skip
        uow.leads.update_many([{"id": lead_id, "owner_id": rep["id"], "team_id": team, "in_pool": False,
                                "sla_due_at": None, "updated_at": now, "version": current["version"] + 1}],
                              columns=("owner_id", "team_id", "in_pool", "sla_due_at", "updated_at", "version"))  # fmt: skip
        uow.audit.record(at=now, actor=principal.actor, action="lead.handed_over", entity="lead", entity_id=lead_id,
                         data={"from": str(current["owner_id"]), "to": str(rep["id"]), "reason": reason})  # fmt: skip
        start_sla_clock(uow, {**current, "owner_id": rep["id"], "team_id": team}, rep["id"], now)
        uow.commit()


def move_leads(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_ids: Sequence[uuid.UUID],
    to: str,
    reason: str | None,
    now: datetime,
) -> BulkResult:
    """Move each lead to stage ``to``."""
    result = BulkResult("move")
    for lead_id in _selection(lead_ids):
        try:
            move_lead(uow_factory=uow_factory, lead_id=lead_id, to=to, reason=reason,
                      actor=principal.actor, now=now, principal=principal)  # fmt: skip
        except DomainError as exc:
            result.refused.append((lead_id, exc.message))
        else:
            result.done.append(lead_id)
    return result


def export_leads(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, lead_ids: Sequence[uuid.UUID]
) -> Table:
    """The selected leads the caller may see (others are left out), in selection order."""
    chosen = _selection(lead_ids)

    def rows() -> Iterator[list[Any]]:
        with uow_factory(write=False) as uow:
            for lead_id in chosen:
                lead = uow.leads.get(lead_id)
                try:
                    seen = visible_lead(principal, lead, lead_id)
                except DomainError:
                    continue
                yield [seen[c] for c in LEAD_EXPORT_COLUMNS]

    return Table(list(LEAD_EXPORT_COLUMNS), rows())
