"""Reps as routing sees them: profiles (weight, seniority, capacity, skills, product lines,
working calendar, time away), and deactivation, which must say where open leads go."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.access import SYSTEM, Principal, require_role
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.routing import assign_lead, calendars_by_name

__all__ = ["RepProfile", "change_rep_profile", "deactivate_rep", "list_reps", "set_rep_profile"]


@dataclass(frozen=True)
class RepProfile:
    weight: float = 1.0
    seniority: int = 1
    max_open: int | None = None
    max_new_per_day: int | None = None
    max_claims_per_day: int | None = None
    skills: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    calendar: str | None = None
    away: tuple[tuple[datetime, datetime], ...] = ()

    def check(self) -> None:
        if self.weight <= 0:
            raise ValidationError("weight", f"must be above 0, got {self.weight}")
        if self.seniority < 1:
            raise ValidationError("seniority", f"must be 1 or more, got {self.seniority}")
        for name in ("max_open", "max_new_per_day", "max_claims_per_day"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValidationError(name, f"must be 0 or more, got {value}")
        for start, end in self.away:
            if start.tzinfo is None or end <= start:
                raise ValidationError(
                    "away",
                    f"{start.isoformat()}/{end.isoformat()} is not a time-zone-aware interval that ends after it starts",
                )


def _rep(uow: UnitOfWork, user_id: uuid.UUID) -> Row:
    rep = uow.routing.rep(user_id)
    if rep is None:
        raise NotFound("rep", user_id)
    return dict(rep)


def set_rep_profile(
    *,
    uow_factory: UnitOfWorkFactory,
    user_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    actor: str = "admin",
) -> Row:
    """Change some of a rep's routing settings (the others keep their values)."""
    with uow_factory() as uow:
        rep = _rep(uow, user_id)
        current = RepProfile(
            weight=float(rep["weight"] or 1), seniority=int(rep["seniority"] or 1), max_open=rep["max_open"],
            max_new_per_day=rep["max_new_per_day"], max_claims_per_day=rep["max_claims_per_day"],
            skills=tuple(rep["skills"] or ()), product_lines=tuple(rep["product_lines"] or ()), calendar=rep["calendar"],
            away=tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in (rep["away"] or [])),
        )  # fmt: skip
        unknown = sorted(set(changes) - set(RepProfile.__dataclass_fields__))
        if unknown:
            raise ValidationError(unknown[0], "is not a rep setting")
        profile = RepProfile(**{**current.__dict__, **changes})
        profile.check()
        if profile.calendar is not None and profile.calendar not in calendars_by_name(uow):
            raise ValidationError("calendar", f"unknown calendar '{profile.calendar}'")
        row = {"user_id": user_id, **{k: v for k, v in profile.__dict__.items() if k not in ("skills", "product_lines", "away")},
               "skills": list(profile.skills), "product_lines": list(profile.product_lines),
               "away": [[a.isoformat(), b.isoformat()] for a, b in profile.away], "updated_at": now}  # fmt: skip
        uow.routing.put_rep_profile(row)
        uow.audit.record(at=now, actor=actor, action="rep.profile_changed", entity="user", entity_id=user_id,
                         data={k: str(v) for k, v in changes.items()})  # fmt: skip
        uow.commit()
    return row


def list_reps(*, uow_factory: UnitOfWorkFactory, principal: Principal = SYSTEM) -> list[Row]:
    """The reps the caller may see, with their team, settings and open leads: every rep for
    admins (and the command line), a manager's team, a rep themselves; marketers none."""
    require_role(principal, "admin", "manager", "rep", action="reading rep settings")
    with uow_factory(write=False) as uow:
        open_leads = uow.routing.open_leads_by_owner()
        reps = uow.routing.reps()
    return [{**rep, "open_leads": open_leads.get(rep["id"], 0)} for rep in reps if _sees(principal, rep["id"])]


def _sees(principal: Principal, user_id: uuid.UUID) -> bool:
    if principal.role == "admin":
        return True
    if principal.role == "manager":
        return user_id in principal.team_members
    return user_id == principal.user_id


def change_rep_profile(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    user_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
) -> Row:
    """:func:`set_rep_profile` for a caller: admins change any rep's routing settings,
    managers those of their team's reps (routing for their team); a rep outside the caller's
    view is *not found*, and reps and marketers may not change settings."""
    require_role(principal, "admin", "manager", action="changing rep routing settings")
    if not _sees(principal, user_id):
        raise NotFound("rep", user_id)
    return set_rep_profile(uow_factory=uow_factory, user_id=user_id, changes=changes, now=now,
                           actor=principal.actor)  # fmt: skip


def deactivate_rep(*, uow_factory: UnitOfWorkFactory, user_id: uuid.UUID, leads_to: str, actor: str, now: datetime,
                   to_rep: uuid.UUID | None = None) -> dict[str, int]:  # fmt: skip
    """Deactivate a rep. Their open leads must go somewhere: ``pool`` (the shared pool),
    ``reroute`` (routed again by the active rules, without them) or ``rep`` (to ``to_rep``).
    All in one transaction; how many leads went where."""
    if leads_to not in ("pool", "reroute", "rep"):
        raise ValidationError("leads_to", f"'{leads_to}' is not one of: pool, reroute, rep")
    if (leads_to == "rep") != (to_rep is not None):
        raise ValidationError("to_rep", "give a rep exactly when the leads go to a rep")
    with uow_factory() as uow:
        rep = _rep(uow, user_id)
        if not rep["active"]:
            raise ValidationError("rep", f"{rep['name']} is already inactive")
        target = _rep(uow, to_rep) if to_rep is not None else None
        if target is not None and (not target["active"] or target["id"] == user_id):
            raise ValidationError("to_rep", "the leads must go to another active rep")
        uow.routing.set_user_active(user_id, False)
        leads: Sequence[Row] = uow.routing.open_leads_of(user_id)
        outcome = {"pool": 0, "rerouted": 0, "to_rep": 0}
        for lead in leads:
            reason = f"rep {rep['name']} deactivated"
            if leads_to == "rep" and target is not None:
                _move(
                    uow,
                    lead,
                    target["id"],
                    f"{reason}: leads handed to {target['name']}",
                    actor,
                    now,
                )
                outcome["to_rep"] += 1
                continue
            _move(uow, lead, None, f"{reason}: lead returned to the shared pool", actor, now)
            if leads_to == "reroute":
                decision = assign_lead(uow=uow, lead={**lead, "owner_id": None, "in_pool": True}, now=now, actor=actor,
                                       exclude=frozenset({str(user_id)}))  # fmt: skip
                if decision is not None and decision.rep is not None:
                    outcome["rerouted"] += 1
                    continue
            outcome["pool"] += 1
        uow.audit.record(
            at=now,
            actor=actor,
            action="rep.deactivated",
            entity="user",
            entity_id=user_id,
            data=dict(outcome),
        )
        uow.commit()
    return outcome


def _move(
    uow: Any, lead: Row, owner: uuid.UUID | None, reason: str, actor: str, now: datetime
) -> None:
    uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead["id"], "from_owner_id": lead["owner_id"], "to_owner_id": owner,
                                        "team_id": lead["team_id"], "at": now, "actor": actor, "rule": "handover", "reason": reason}])  # fmt: skip
    uow.leads.update_many([{"id": lead["id"], "owner_id": owner, "in_pool": owner is None, "sla_due_at": None, "updated_at": now}],
                          columns=("owner_id", "in_pool", "sla_due_at", "updated_at"))  # fmt: skip
