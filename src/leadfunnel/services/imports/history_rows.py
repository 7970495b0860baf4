"""Import kind ``stage-history``: stage changes from another system, oldest first.

Each row names a lead, the stage it entered and when (``to_stage``, ``at``), optionally why
(``reason``), who (``actor``) and the owner from then on (``owner``: a user's id in the
source system or email). Rules:

* the move must be a declared move or a forward jump along the funnel
  (:meth:`Lifecycle.check_history_move`): ``mql -> won`` is accepted, ``won -> mql`` not;
* a row older than the lead's last stage change is refused: history is imported oldest
  first, so the current stage stays the last transition. With the mapping option
  ``backdated_history = "clamp"`` it is recorded at the time of that last change instead,
  and the transition's reason and audit entry keep the date the source gave (for sources
  whose close dates may precede a lead's recorded first contact);
* a row equal to any stored stage change of its lead (same stage, same time; with
  ``clamp``, the time it would be clamped to) is unchanged, so re-running an import adds
  nothing: a lead that went ``mql -> sql -> opportunity`` replays all three rows, not only
  the last;
* an ``owner`` assigns the lead (``assignments`` row with rule ``import``) and takes it out
  of the shared pool.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage, parse_stage
from leadfunnel.services.imports.kinds import (
    LEAD_REF,
    BatchContext,
    BatchResult,
    LeadIndex,
    lead_ref,
    resolve_owners,
)
from leadfunnel.services.imports.mapping import RowError
from leadfunnel.services.lead_input import parse_timestamp
from leadfunnel.services.ports import Row

__all__ = ["HistoryRows"]

_LEAD_UPDATE = ("stage", "stage_entered_at", "owner_id", "in_pool", "updated_at", "version")


class HistoryRows:
    name: str = "stage-history"
    fields: tuple[str, ...] = (*LEAD_REF, "to_stage", "at", "reason", "actor", "owner")
    required: tuple[tuple[str, ...], ...] = (LEAD_REF, ("to_stage",), ("at",))

    def write(self, ctx: BatchContext, rows: Sequence[tuple[int, dict[str, Any]]]) -> BatchResult:
        result = BatchResult()
        parsed = []
        for number, fields in rows:
            try:
                parsed.append((number, fields, lead_ref(fields, ctx.default_region)))
            except ValidationError as exc:
                result.errors.append(ctx.error(number, fields, exc))
        leads = LeadIndex(ctx, [ref for _, _, ref in parsed])
        owners = resolve_owners(ctx, {str(f["owner"]) for _, f, _ in parsed if f.get("owner")})
        known = [lead["id"] for _, _, ref in parsed if (lead := leads.find(ref)) is not None]
        stored = ctx.uow.records.select_in("stage_transitions", "lead_id", sorted(set(known)))
        last: dict[uuid.UUID, Row] = {}  # each lead's last change: the latest (at, id)
        for row in sorted(stored, key=lambda r: (r["at"], str(r["id"]))):
            last[row["lead_id"]] = row
        state = _History(ctx, last, stored)
        for number, fields, ref in parsed:
            try:
                changed = state.apply(leads.get(ref), fields, owners)
            except ValidationError as exc:
                result.errors.append(ctx.error(number, fields, exc))
                continue
            except DomainError as exc:  # a move the lifecycle refuses
                column, value = ctx.mapping.source_of("to_stage"), str(fields.get("to_stage"))
                result.errors.append(RowError(number, column, value, exc.message))
                continue
            if changed:
                result.merged += 1
            else:
                result.unchanged += 1
        state.flush()
        return result


class _History:
    def __init__(self, ctx: BatchContext, last: dict[uuid.UUID, Row], stored: list[Row]) -> None:
        self.ctx = ctx
        self.last = last
        #: Every stage change of the batch's leads, stored or recorded by this batch.
        self.known = {(r["lead_id"], r["to_stage"], r["at"]) for r in stored}
        self.leads: dict[uuid.UUID, Row] = {}
        self.transitions: list[Row] = []
        self.assignments: list[Row] = []
        self.audit: list[Row] = []
        self._clamps = ctx.mapping.options.get("backdated_history", "refuse") == "clamp"

    def apply(
        self, lead: Row, fields: dict[str, Any], owners: dict[str, uuid.UUID | ValidationError]
    ) -> bool:
        lead_id = lead["id"]
        stage = parse_stage(str(fields["to_stage"]), field="to_stage")
        at = parse_timestamp(fields["at"], field="at")
        previous = self.last.get(lead_id)
        source_at = at
        if previous is not None and at < previous["at"] and self._clamps:
            at = previous["at"]
        if {(lead_id, stage.value, source_at), (lead_id, stage.value, at)} & self.known:
            return False  # imported before (or recorded earlier in this file)
        if previous is not None and at < previous["at"]:
            raise ValidationError("at", f"{at.isoformat()} is before the lead's last stage change "
                                        f"({previous['at'].isoformat()}); import history oldest first")  # fmt: skip
        current = Stage(previous["to_stage"]) if previous else Stage(lead["stage"])
        DEFAULT_LIFECYCLE.check_history_move(current, stage)
        owner = owners.get(str(fields["owner"])) if fields.get("owner") else None
        if isinstance(owner, ValidationError):
            raise owner
        if source_at != at:
            note = f"source date {source_at.isoformat()} precedes the lead's last stage change"
            fields = {**fields, "reason": "; ".join(filter(None, [fields.get("reason"), note]))}
        self._record(lead, current, stage, at, fields, owner, source_at)
        return True

    def _record(
        self,
        lead: Row,
        current: Stage,
        stage: Stage,
        at: Any,
        fields: dict[str, Any],
        owner: uuid.UUID | None,
        source_at: Any,
    ) -> None:
        ctx = self.ctx
        row = {"id": new_id(), "lead_id": lead["id"], "from_stage": current.value, "to_stage": stage.value,
               "at": at, "actor": str(fields.get("actor") or ctx.actor), "reason": fields.get("reason")}  # fmt: skip
        self.transitions.append(row)
        self.last[lead["id"]] = row
        self.known.add((lead["id"], stage.value, at))
        lead.update(
            stage=stage.value, stage_entered_at=at, updated_at=ctx.now, version=lead["version"] + 1
        )
        if owner is not None and owner != lead["owner_id"]:
            self.assignments.append(
                {"id": new_id(), "lead_id": lead["id"], "from_owner_id": lead["owner_id"], "to_owner_id": owner,
                 "team_id": None, "at": at, "actor": ctx.actor, "rule": "import", "reason": "owner given by imported history"}
            )  # fmt: skip
            lead.update(owner_id=owner, in_pool=False)
        self.leads[lead["id"]] = lead
        self.audit.append(
            {"id": new_id(), "at": ctx.now, "actor": ctx.actor, "action": "lead.stage_imported", "entity": "lead",
             "entity_id": lead["id"], "data": {"from": current.value, "to": stage.value, "at": at.isoformat(), "source_at": source_at.isoformat()}}
        )  # fmt: skip

    def flush(self) -> None:
        uow = self.ctx.uow
        uow.transitions.append_many(self.transitions)
        uow.records.update("leads", list(self.leads.values()), columns=_LEAD_UPDATE)
        uow.records.insert("assignments", self.assignments)
        uow.audit.record_many(self.audit)
