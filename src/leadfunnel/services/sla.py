"""First-response SLA clocks: responses stop them, breaches escalate and reclaim.

* **Response.** The first call, email, meeting or chat the lead's owner logs stops its clock:
  ``met`` when by the deadline, else ``breached``; the business-time response time is stored
  for MTTR.
* **Breach.** When a clock passes its deadline with no response (an ``sla.check`` job fires
  at the deadline; the worker runs it), in one transaction: the clock is marked
  ``breached``; the team's manager gets an in-app notification; the lead is reclaimed to the
  shared pool (an assignment whose reason names the policy and the rep); and, while the
  lead's reclaims stay within the policy's ``max_reclaims``, it is routed again by the rules
  without the rep who breached. Past that it waits in the pool. Every step is in the lead's
  assignments and the audit log.

Handlers are idempotent: a check whose clock has since been met, re-assigned or already
breached does nothing, so a job run twice (a worker died after doing it) changes nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

from leadfunnel.domain.access import SYSTEM, Forbidden, Principal, writable_lead
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.rules.sla import SlaPolicy
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.routing import active_policies, assign_lead

__all__ = [
    "RESPONSE_KINDS",
    "check_sla",
    "log_activity",
    "record_response",
    "return_stagnant",
    "stagnation_days",
    "user_id_for",
]

RESPONSE_KINDS = ("call", "email", "meeting", "chat")


def _policy(uow: UnitOfWork, name: str) -> SlaPolicy | None:
    return next((p for p in active_policies(uow) if p.name == name), None)


def record_response(
    *, uow: UnitOfWork, lead: Row, user_id: uuid.UUID | None, kind: str, at: datetime
) -> Row | None:
    """Stop the lead's clock if this activity is its owner's first response; the clock."""
    clock = uow.routing.sla_for(lead["id"])
    if clock is None or clock["responded_at"] is not None or kind not in RESPONSE_KINDS:
        return clock
    if user_id is None or user_id != clock["owner_id"] or at < clock["started_at"]:
        return clock
    policy = _policy(uow, clock["policy"])
    took = policy.response_time(clock["started_at"], at) if policy else at - clock["started_at"]
    status = "met" if at <= clock["due_at"] and clock["status"] == "due" else "breached"
    updated = {
        **clock,
        "responded_at": at,
        "response_seconds": int(took.total_seconds()),
        "status": status,
        "updated_at": at,
    }
    uow.routing.put_sla(updated)
    if clock["status"] == "due":  # a clock already breached (and counted) stays counted once
        _outcome(uow, lead, updated, reclaimed=False, at=at)
    return updated


def _outcome(uow: UnitOfWork, lead: Row, clock: Row, *, reclaimed: bool, at: datetime) -> None:
    """Count a decided clock (``sla_outcomes``), apart from the lead's current clock."""
    uow.routing.add_sla_outcome({"id": new_id(), "lead_id": lead["id"], "policy": clock["policy"], "owner_id": clock["owner_id"],
                                 "team_id": lead["team_id"], "channel": lead["channel"], "started_at": clock["started_at"],
                                 "due_at": clock["due_at"], "responded_at": clock["responded_at"],
                                 "response_seconds": clock["response_seconds"], "status": clock["status"],
                                 "reclaimed": reclaimed, "at": at})  # fmt: skip


def user_id_for(*, uow_factory: UnitOfWorkFactory, ref: str) -> uuid.UUID:
    """A user's id from their id or email."""
    key, value = "email", ref.strip().lower()
    found_id: uuid.UUID | None = None
    with contextlib.suppress(ValueError):
        found_id = uuid.UUID(ref)
    with uow_factory(write=False) as uow:
        found = (
            uow.records.select_in("users", "id", [found_id])
            if found_id
            else uow.records.select_in("users", key, [value])
        )
    if not found:
        raise NotFound("user", ref)
    return uuid.UUID(str(found[0]["id"]))


def log_activity(*, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID, user_id: uuid.UUID | None, kind: str,
                 at: datetime, subject: str | None, actor: str, now: datetime,
                 principal: Principal = SYSTEM) -> Row | None:  # fmt: skip
    """Log a sales activity on a lead (stops its SLA clock when it is the owner's first
    response); returns the lead's SLA clock. A rep logs only their own activities, on leads
    they own."""
    if kind not in (*RESPONSE_KINDS, "note", "task"):
        raise ValidationError(
            "kind", f"'{kind}' is not one of: {', '.join((*RESPONSE_KINDS, 'note', 'task'))}"
        )
    if at > now + timedelta(minutes=5):
        raise ValidationError("at", f"{at.isoformat()} is in the future")
    if principal.role == "rep" and user_id != principal.user_id:
        raise Forbidden("a rep logs only their own activities")
    with uow_factory() as uow:
        lead = dict(writable_lead(principal, uow.leads.get(lead_id), lead_id))
        if user_id is not None and not uow.records.select_in("users", "id", [user_id]):
            raise NotFound("user", user_id)
        uow.records.insert("activities", [{"id": new_id(), "lead_id": lead_id, "user_id": user_id, "kind": kind, "at": at,
                                           "subject": subject, "body": None, "created_at": now}])  # fmt: skip
        uow.leads.update_many([{"id": lead_id, "updated_at": now}], columns=("updated_at",))
        clock = record_response(uow=uow, lead=lead, user_id=user_id, kind=kind, at=at)
        uow.audit.record(at=now, actor=actor, action="lead.activity_logged", entity="lead", entity_id=lead_id,
                         data={"kind": kind, "user_id": str(user_id) if user_id else None})  # fmt: skip
        uow.commit()
    return clock


def check_sla(
    *, uow: UnitOfWork, lead_id: uuid.UUID, due_at: datetime, now: datetime, actor: str
) -> str:
    """The ``sla.check`` handler: what it did (``breached and rerouted``, ``... waits in the
    pool``, or why nothing was needed)."""
    clock = uow.routing.sla_for(lead_id)
    if clock is None or clock["status"] != "due" or clock["due_at"] != due_at:
        return "nothing to do: the clock was met, restarted or already handled"
    if now < due_at:
        return "nothing to do: not due yet"
    lead = uow.leads.get(lead_id)
    if (
        lead is None
        or lead["owner_id"] != clock["owner_id"]
        or lead["stage"] not in ("lead", "mql", "sql", "opportunity")
    ):
        uow.routing.put_sla({**clock, "status": "breached", "updated_at": now})
        if lead is not None:
            _outcome(uow, lead, {**clock, "status": "breached"}, reclaimed=False, at=now)
        return "breached; the lead has since changed hands or closed"
    policy = _policy(uow, clock["policy"])
    max_reclaims = policy.max_reclaims if policy else 0
    reclaims = clock["reclaims"] + 1
    rep = lead["owner_id"]
    why = f"SLA '{clock['policy']}' breached by rep {rep} (due {due_at.isoformat()})"
    uow.routing.put_sla({**clock, "status": "breached", "reclaims": reclaims, "updated_at": now})
    _outcome(uow, lead, {**clock, "status": "breached"}, reclaimed=True, at=now)
    if (
        lead["team_id"] is not None
        and (manager := uow.jobs.team_manager(lead["team_id"])) is not None
    ):
        uow.jobs.notify([{"id": new_id(), "user_id": manager, "lead_id": lead_id, "kind": "sla.breached",
                          "message": f"{why}; lead reclaimed ({reclaims} of {max_reclaims} allowed re-routes)",
                          "created_at": now, "read_at": None}])  # fmt: skip
    uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead_id, "from_owner_id": rep, "to_owner_id": None,
                                        "team_id": lead["team_id"], "at": now, "actor": actor, "rule": "sla",
                                        "reason": f"{why}: reclaimed to the shared pool"}])  # fmt: skip
    pooled = {**lead, "owner_id": None, "in_pool": True, "sla_due_at": None, "updated_at": now}
    uow.leads.update_many([pooled], columns=("owner_id", "in_pool", "sla_due_at", "updated_at"))
    uow.audit.record(at=now, actor=actor, action="lead.reclaimed", entity="lead", entity_id=lead_id,
                     data={"policy": clock["policy"], "rep": str(rep), "reclaims": reclaims})  # fmt: skip
    if reclaims > max_reclaims:
        return f"breached; reclaimed, max reclaims ({max_reclaims}) reached: waits in the pool"
    decision = assign_lead(
        uow=uow, lead=pooled, now=now, actor=actor, exclude=frozenset({str(rep)})
    )
    if decision is None or decision.rep is None:
        return "breached; reclaimed, nobody else available: waits in the pool"
    return f"breached; reclaimed and re-routed to rep {decision.rep}"


def stagnation_days(uow: UnitOfWork) -> float | None:
    """The active SLA rule set's ``stagnation_days``, if it sets one."""
    active = uow.routing.rule_set("sla", None)
    value = active["spec"].get("stagnation_days") if active else None
    return float(value) if value else None


def return_stagnant(*, uow: UnitOfWork, now: datetime, actor: str, limit: int = 1000) -> int:
    """The second clock: owned open leads with no activity (and no owner change) for the
    active SLA rule set's ``stagnation_days`` go back to the shared pool. How many went."""
    days = stagnation_days(uow)
    if days is None:
        return 0
    stale = uow.routing.stagnant_leads(now - timedelta(days=days), limit)
    for lead in stale:
        reason = f"no activity for {days:g} days: returned to the shared pool"
        uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead["id"], "from_owner_id": lead["owner_id"],
                                            "to_owner_id": None, "team_id": lead["team_id"], "at": now, "actor": actor,
                                            "rule": "stagnation", "reason": reason}])  # fmt: skip
        uow.audit.record(at=now, actor=actor, action="lead.reclaimed", entity="lead", entity_id=lead["id"],
                         data={"reason": reason, "rep": str(lead["owner_id"])})  # fmt: skip
    uow.leads.update_many([{"id": lead["id"], "owner_id": None, "in_pool": True, "sla_due_at": None, "updated_at": now} for lead in stale],
                          columns=("owner_id", "in_pool", "sla_due_at", "updated_at"))  # fmt: skip
    return len(stale)
