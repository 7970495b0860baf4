"""Moving a lead through its lifecycle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.access import SYSTEM, Principal, writable_lead
from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Lifecycle, Stage, parse_stage
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["StageChange", "move_lead"]

_MAX_REASON = 1000


@dataclass(frozen=True)
class StageChange:
    lead_id: uuid.UUID
    from_stage: Stage
    to_stage: Stage
    at: datetime
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_id": str(self.lead_id),
            "from_stage": self.from_stage.value,
            "to_stage": self.to_stage.value,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }


def move_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    lead_id: uuid.UUID,
    to: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
    lifecycle: Lifecycle = DEFAULT_LIFECYCLE,
    principal: Principal = SYSTEM,
) -> StageChange:
    """Move a lead to stage ``to``: check the state machine, append the transition, update
    the lead's current stage and write the audit log, all in one transaction.

    Refused moves raise before anything is written. The current stage is read from the last
    transition, never from the cached column, so the two cannot drift apart.
    """
    target = parse_stage(to, field="to")
    if reason is not None and len(reason) > _MAX_REASON:
        raise ValidationError(
            "reason", f"is {len(reason)} characters long; at most {_MAX_REASON} are allowed"
        )
    reason = reason.strip() if reason and reason.strip() else None
    with uow_factory() as uow:
        lead = writable_lead(principal, uow.leads.get(lead_id), lead_id)
        last = uow.transitions.last_for(lead_id)
        current = Stage(last["to_stage"]) if last else Stage(lead["stage"])
        lifecycle.check_move(current, target, reason)
        at = max(now, last["at"]) if last else now
        uow.transitions.append(
            {
                "id": new_id(),
                "lead_id": lead_id,
                "from_stage": current.value,
                "to_stage": target.value,
                "at": at,
                "actor": actor,
                "reason": reason,
            }
        )
        uow.leads.update(
            lead_id,
            {
                "stage": target.value,
                "stage_entered_at": at,
                "updated_at": now,
                "version": lead["version"] + 1,
            },
        )
        uow.audit.record(
            at=now,
            actor=actor,
            action="lead.stage_changed",
            entity="lead",
            entity_id=lead_id,
            data={"from": current.value, "to": target.value, "reason": reason},
        )
        uow.commit()
    return StageChange(lead_id, current, target, at, reason)
