"""The shared pool: reps claim leads, release them with a reason; managers push them.

Claiming is race-free: the lead moves out of the pool by one conditional ``UPDATE`` (only
while it is still in the pool), so when two reps claim one lead at once exactly one wins and
the other is told another rep claimed it first (not who: the loser may not see the lead now). A claim starts the lead's first-response SLA clock like a
routed assignment does. Per-rep claim limits (``max_claims_per_day`` in the rep's profile)
count today's claims (UTC).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from leadfunnel.domain.errors import DomainError, NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.rules.facts import lead_facts
from leadfunnel.rules.sla import policy_for
from leadfunnel.services.paging import Page, check_limit, cursor_time, decode_cursor, encode_cursor
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.routing import active_policies, sla_check_job

__all__ = [
    "AlreadyTaken",
    "active_rep",
    "claim_lead",
    "pool_leads",
    "pool_page",
    "push_lead",
    "release_lead",
    "start_sla_clock",
]


class AlreadyTaken(DomainError):
    """A claim or push that lost the lead to another rep (or to a stage that left the pool)."""

    code = "conflict"


def active_rep(uow: UnitOfWork, user_id: uuid.UUID) -> Row:
    """The rep's routing profile; not found, or refused when the rep is inactive."""
    rep = uow.routing.rep(user_id)
    if rep is None:
        raise NotFound("rep", user_id)
    if not rep["active"]:
        raise ValidationError("rep", f"{rep['name']} is inactive")
    return rep


def start_sla_clock(uow: UnitOfWork, lead: Row, owner: uuid.UUID, now: datetime) -> None:
    """Start ``owner``'s first-response clock on ``lead`` under the active SLA policy that
    matches it (none matching: no clock), keeping the lead's reclaim count."""
    policy = policy_for(lead_facts(lead), active_policies(uow))
    if policy is None:
        return
    due = policy.due(now)
    previous = uow.routing.sla_for(lead["id"])
    uow.routing.put_sla({"lead_id": lead["id"], "policy": policy.name, "owner_id": owner, "started_at": now, "due_at": due,
                         "responded_at": None, "response_seconds": None, "status": "due",
                         "reclaims": previous["reclaims"] if previous else 0, "updated_at": now})  # fmt: skip
    uow.leads.update_many([{"id": lead["id"], "sla_due_at": due}], columns=("sla_due_at",))
    uow.jobs.enqueue([sla_check_job(lead["id"], due, now)])


def _give(
    uow: UnitOfWork, lead_id: uuid.UUID, rep: Row, rule: str, reason: str, actor: str, now: datetime
) -> None:
    lead = uow.leads.get(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    if not uow.routing.take_from_pool(lead_id, rep["id"], now):
        holder = uow.leads.get(lead_id)
        taken = holder is not None and holder["owner_id"] is not None
        raise AlreadyTaken(
            f"lead {lead_id} is not in the pool"
            + (": another rep claimed it first" if taken else f" (stage {lead['stage']})")
        )
    team = next((row["id"] for row in uow.routing.teams() if row["name"] == rep["team"]), None)
    uow.leads.update_many([{"id": lead_id, "team_id": team}], columns=("team_id",))
    uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead_id, "from_owner_id": None, "to_owner_id": rep["id"],
                                        "team_id": team, "at": now, "actor": actor, "rule": rule, "reason": reason}])  # fmt: skip
    uow.audit.record(at=now, actor=actor, action=f"lead.{rule}ed" if rule != "push" else "lead.pushed", entity="lead",
                     entity_id=lead_id, data={"to": str(rep["id"]), "reason": reason})  # fmt: skip
    start_sla_clock(uow, lead, rep["id"], now)


def claim_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    lead_id: uuid.UUID,
    rep_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> None:
    """A rep takes a lead from the pool (within their daily claim limit)."""
    with uow_factory() as uow:
        rep = active_rep(uow, rep_id)
        limit = rep["max_claims_per_day"]
        if limit is not None:
            today = uow.routing.claims_since(
                rep_id, datetime.combine(now.date(), time(0), now.tzinfo)
            )
            if today >= limit:
                raise ValidationError(
                    "rep", f"{rep['name']} has claimed {today} leads today, the limit is {limit}"
                )
        _give(uow, lead_id, rep, "claim", f"claimed from the pool by rep {rep_id}", actor, now)
        uow.commit()


def push_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    lead_id: uuid.UUID,
    rep_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> None:
    """A manager gives a pool lead to a rep (no claim limit applies)."""
    with uow_factory() as uow:
        rep = active_rep(uow, rep_id)
        _give(
            uow,
            lead_id,
            rep,
            "push",
            f"pushed from the pool to rep {rep_id} by {actor}",
            actor,
            now,
        )
        uow.commit()


def release_lead(*, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID, rep_id: uuid.UUID, reason: str, now: datetime,
                 actor: str) -> None:  # fmt: skip
    """The owner gives a lead back to the pool, saying why."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason", "say why the lead goes back to the pool")
    with uow_factory() as uow:
        lead = uow.leads.get(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        if lead["owner_id"] != rep_id:
            raise ValidationError(
                "rep",
                f"only the lead's owner can release it; its owner is {lead['owner_id'] or 'nobody'}",
            )
        uow.leads.update_many([{"id": lead_id, "owner_id": None, "in_pool": True, "sla_due_at": None, "updated_at": now}],
                              columns=("owner_id", "in_pool", "sla_due_at", "updated_at"))  # fmt: skip
        uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead_id, "from_owner_id": rep_id, "to_owner_id": None,
                                            "team_id": lead["team_id"], "at": now, "actor": actor, "rule": "release",
                                            "reason": f"released to the pool: {reason}"}])  # fmt: skip
        uow.audit.record(
            at=now,
            actor=actor,
            action="lead.released",
            entity="lead",
            entity_id=lead_id,
            data={"reason": reason},
        )
        uow.commit()


def pool_leads(*, uow_factory: UnitOfWorkFactory, limit: int = 50) -> list[dict[str, Any]]:
    """Open leads in the shared pool, oldest first."""
    with uow_factory(write=False) as uow:
        return uow.routing.pool_leads(limit)


#: The store lists the pool without a keyset, so a page is cut from the whole pool: a pool is
#: hundreds of leads waiting for a rep, not millions.
_WHOLE_POOL = 2**31 - 1
_ORDER = "pool:created_at"


def pool_page(
    *, uow_factory: UnitOfWorkFactory, cursor: str | None = None, limit: int = 50
) -> Page:
    """A page of the open leads in the shared pool, oldest first (by creation, then id);
    ``next_cursor`` fetches the next page. Leads claimed meanwhile shift no other row."""
    check_limit(limit)
    after = decode_cursor(cursor, order=_ORDER)
    start = (cursor_time(after[0]), after[1]) if after else None
    with uow_factory(write=False) as uow:
        pool = uow.routing.pool_leads(_WHOLE_POOL)
    rows = [r for r in pool if start is None or (r["created_at"], r["id"]) > start]
    items = rows[:limit]
    last = items[-1] if len(rows) > limit else None
    return Page(items=items, total=len(pool),
                next_cursor=encode_cursor(last["created_at"].isoformat(), last["id"], order=_ORDER) if last else None)  # fmt: skip
