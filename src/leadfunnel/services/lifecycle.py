"""Moving a lead through its lifecycle.

``won`` and ``lost`` follow a lead's deals (``services/opportunities.py``): a won deal wins
the lead, and the lead is lost when every deal it has is lost. So a lead with an open deal is
not moved to ``won`` or ``lost`` by hand: that would close the lead and leave the deal
counted in the open pipeline and the forecast. The move is refused (409) and names the open
deals; closing the deal on the pipeline moves the lead (docs/concepts/lifecycle.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.access import SYSTEM, LeadScope, Principal, writable_lead
from leadfunnel.domain.errors import Conflict, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Lifecycle, Stage, parse_stage
from leadfunnel.domain.pipeline import OPEN_STAGES
from leadfunnel.services.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["StageChange", "move_lead"]

_MAX_REASON = 1000
#: The stages a lead's deals decide; a lead with an open deal is not moved there by hand.
_FOLLOWS_DEALS = (Stage.WON, Stage.LOST)
#: Open deals a refusal names (the rest are counted).
_NAMED_DEALS = 3


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


def _check_no_open_deals(uow: UnitOfWork, lead_id: uuid.UUID, target: Stage) -> None:
    """Raise :class:`Conflict` when ``target`` is won or lost and the lead has an open deal.

    Example: lead L is at ``opportunity`` with deal "ACME rollout" in ``qualification``;
    moving L to ``won`` answers "the lead has an open deal: 'ACME rollout' (qualification);
    close it on the pipeline (/pipeline) and the lead follows". Every deal is counted,
    whoever may see it: the refusal is about the lead, which the caller may change."""
    if target not in _FOLLOWS_DEALS:
        return
    named: list[str] = []
    total = 0
    for stage in OPEN_STAGES:
        rows, count = uow.crm.opportunities(scope=LeadScope(everything=True), after=None,
                                            filters={"lead_id": lead_id, "stage": stage}, limit=_NAMED_DEALS)  # fmt: skip
        named += [f"'{row['name']}' ({stage})" for row in rows]
        total += count
    if not total:
        return
    listed = ", ".join(named[:_NAMED_DEALS]) + (
        f" and {total - _NAMED_DEALS} more" if total > _NAMED_DEALS else ""
    )
    deals = "an open deal" if total == 1 else f"{total} open deals"
    them = "it" if total == 1 else "them"
    raise Conflict(
        f"the lead has {deals}: {listed}; its stage follows its deals, so it is not moved to "
        f"'{target.value}' by hand: close {them} on the pipeline (/pipeline) and the lead follows"
    )


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
    transition, never from the cached column, so the two cannot drift apart. A lead with an
    open deal is not moved to ``won`` or ``lost`` (:class:`Conflict`): its deals decide those.
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
        _check_no_open_deals(uow, lead_id, target)
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
