"""Routing use cases: rule sets and calendars as versioned data, assigning leads, backlogs.

A lead is routed (:func:`assign_lead`) inside the transaction that needs it: the decision
(:func:`leadfunnel.rules.routing.route_lead`) is made on a roster read after the team's
routing-state row is locked, and the assignment, the lead's owner and pool flag, the SLA
clock and the team's new state are written together. So concurrent intakes never assign a
lead twice, never push a rep past capacity, and take turns fairly.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.rules.business_time import BusinessCalendar, parse_calendar
from leadfunnel.rules.facts import lead_facts
from leadfunnel.rules.routing import (
    Rep,
    RoutingDecision,
    RoutingRule,
    TeamState,
    parse_rules,
    route_lead,
)
from leadfunnel.rules.sla import SlaPolicy, parse_policies, policy_for
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "KINDS",
    "RuleSet",
    "activate_rule_set",
    "assign_lead",
    "import_rule_set",
    "put_calendar",
    "replay_rules",
    "route_backlog",
    "routing_history",
    "sla_check_job",
    "active_policies",
    "calendars_by_name",
    "sla_clock",
]

KINDS = ("routing", "sla")


@dataclass(frozen=True)
class RuleSet:
    kind: str
    version: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def calendars_by_name(uow: UnitOfWork) -> dict[str, BusinessCalendar]:
    return {row["name"]: parse_calendar(row["spec"]) for row in uow.routing.calendars()}


def active_policies(
    uow: UnitOfWork, calendars: Mapping[str, BusinessCalendar] | None = None
) -> tuple[SlaPolicy, ...]:
    """The active SLA policies (none without an active SLA rule set)."""
    active = uow.routing.rule_set("sla", None)
    if active is None:
        return ()
    return parse_policies(
        active["spec"], calendars=calendars_by_name(uow) if calendars is None else calendars
    )


def _validate(uow: UnitOfWork, kind: str, doc: Mapping[str, Any]) -> None:
    if kind == "routing":
        parse_rules(doc, teams=[row["name"] for row in uow.routing.teams()])
    elif kind == "sla":
        parse_policies(doc, calendars=calendars_by_name(uow))
        days = doc.get("stagnation_days")
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int | float) or days <= 0
        ):
            raise ValidationError(
                "stagnation_days", f"must be a number of days above 0, got {days!r}"
            )
    else:
        raise ValidationError("kind", f"'{kind}' is not one of: {', '.join(KINDS)}")


def sla_check_job(lead_id: uuid.UUID, due_at: datetime, now: datetime) -> dict[str, Any]:
    """The job that checks a first-response clock at its deadline (see ``services/sla.py``)."""
    return {"id": new_id(), "kind": "sla.check", "lead_id": lead_id, "run_at": due_at, "status": "pending",
            "payload": {"due_at": due_at.isoformat()}, "lease_until": None, "attempts": 0, "last_error": None,
            "created_at": now, "done_at": None}  # fmt: skip


def list_rule_sets(*, uow_factory: UnitOfWorkFactory, kind: str) -> list[Row]:
    """Every version of the ``routing`` or ``sla`` rule set, oldest first."""
    if kind not in ("routing", "sla"):
        raise ValidationError("kind", f"'{kind}' is not one of: routing, sla")
    with uow_factory(write=False) as uow:
        return uow.routing.rule_sets(kind)


def list_calendars(*, uow_factory: UnitOfWorkFactory) -> list[Row]:
    with uow_factory(write=False) as uow:
        return uow.routing.calendars()


def put_calendar(
    *, uow_factory: UnitOfWorkFactory, document: Mapping[str, Any], now: datetime
) -> str:
    """Create or replace a business calendar (see :mod:`leadfunnel.rules.business_time`)."""
    calendar = parse_calendar(document)
    with uow_factory() as uow:
        uow.routing.put_calendar(calendar.name, dict(document), now)
        uow.commit()
    return calendar.name


def import_rule_set(*, uow_factory: UnitOfWorkFactory, kind: str, document: Mapping[str, Any], actor: str,
                    now: datetime) -> RuleSet:  # fmt: skip
    """Validate routing rules or SLA policies and store them as the next draft version."""
    with uow_factory() as uow:
        _validate(uow, kind, document)
        version = uow.routing.next_rule_set_version(kind)
        row = {"id": new_id(), "kind": kind, "version": version, "spec": dict(document),
               "status": "draft", "created_at": now, "created_by": actor, "activated_at": None}  # fmt: skip
        uow.routing.add_rule_set(row)
        uow.commit()
    return RuleSet(kind, version, "draft")


def activate_rule_set(
    *, uow_factory: UnitOfWorkFactory, kind: str, version: int, actor: str, now: datetime
) -> RuleSet:
    """Make a version the active rule set of its kind (re-validated against today's teams and
    calendars); the previous one is retired in the same transaction."""
    with uow_factory() as uow:
        chosen = uow.routing.rule_set(kind, version)
        if chosen is None:
            raise NotFound(f"{kind} rule set", f"v{version}")
        _validate(uow, kind, chosen["spec"])
        current = uow.routing.rule_set(kind, None)
        if current is not None:
            uow.routing.set_rule_set_status(current["id"], "retired", current["activated_at"])
        uow.routing.set_rule_set_status(chosen["id"], "active", now)
        uow.audit.record(at=now, actor=actor, action=f"{kind}_rules.activated", entity="rule_set",
                         entity_id=chosen["id"], data={"kind": kind, "version": version})  # fmt: skip
        uow.commit()
    return RuleSet(kind, version, "active")


@dataclass(frozen=True)
class _Setup:
    rules: tuple[RoutingRule, ...]
    policies: tuple[SlaPolicy, ...]
    team_ids: Mapping[str, uuid.UUID]
    reps: Sequence[Row]
    calendars: Mapping[str, BusinessCalendar]


def _setup(uow: UnitOfWork) -> _Setup | None:
    active = uow.routing.rule_set("routing", None)
    if active is None:
        return None
    teams = {row["name"]: row["id"] for row in uow.routing.teams()}
    rules = parse_rules(active["spec"], teams=list(teams))
    calendars = calendars_by_name(uow)
    return _Setup(rules, active_policies(uow, calendars), teams, uow.routing.reps(), calendars)


def _roster(uow: UnitOfWork, setup: _Setup, now: datetime) -> dict[str, list[Rep]]:
    open_leads = uow.routing.open_leads_by_owner()
    today = datetime.combine(now.date(), time(0), now.tzinfo)
    new_today = uow.routing.assigned_since(today)
    roster: dict[str, list[Rep]] = defaultdict(list)
    for row in setup.reps:
        away = tuple(
            (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in (row["away"] or [])
        )
        roster[row["team"]].append(Rep(
            id=str(row["id"]), name=row["name"], team=row["team"], active=bool(row["active"]),
            weight=float(row["weight"] or 1), seniority=int(row["seniority"] or 1),
            max_open=row["max_open"], max_new_per_day=row["max_new_per_day"],
            open_leads=open_leads.get(row["id"], 0), new_today=new_today.get(row["id"], 0),
            skills=frozenset(row["skills"] or ()), product_lines=frozenset(row["product_lines"] or ()),
            calendar=setup.calendars.get(row["calendar"]) if row["calendar"] else None, away=away,
        ))  # fmt: skip
    return roster


def assign_lead(*, uow: UnitOfWork, lead: Row, now: datetime, actor: str,
                exclude: frozenset[str] = frozenset()) -> RoutingDecision | None:  # fmt: skip
    """Route one lead inside the caller's transaction; None when no routing rules are active.

    The lead's facts include its score and grade (priority from its primary score)."""
    setup = _setup(uow)
    if setup is None:
        return None
    facts = lead_facts(lead)
    scores = uow.scoring.scores_for([lead["id"]])
    if scores:
        primary = next(iter(scores.values()))
        facts |= {
            "priority": primary["priority"],
            "fit": primary["fit"],
            "engagement": primary["engagement"],
        }
    preview = route_lead(facts, setup.rules, {}, {}, now=now)
    team_id = setup.team_ids.get(preview.team) if preview.team else None
    state = TeamState()
    if team_id is not None:
        locked = uow.routing.lock_team_state(team_id, now)
        last = locked["last_rep_id"]
        state = TeamState(str(last) if last else None, dict(locked["credits"] or {}))
    decision = route_lead(
        facts,
        setup.rules,
        _roster(uow, setup, now),
        {preview.team or "": state},
        now=now,
        exclude=exclude,
    )
    decision = replace(decision, lead=str(lead["id"]))
    owner = uuid.UUID(decision.rep) if decision.rep else None
    uow.records.insert("assignments", [{"id": new_id(), "lead_id": lead["id"], "from_owner_id": lead["owner_id"],
                                        "to_owner_id": owner, "team_id": team_id, "at": now, "actor": actor,
                                        "rule": decision.rule.name if decision.rule else None, "reason": decision.reason}])  # fmt: skip
    policy = policy_for(facts, setup.policies) if owner is not None else None
    due = policy.due(now) if policy else None
    uow.leads.update_many([{"id": lead["id"], "owner_id": owner, "team_id": team_id, "in_pool": owner is None,
                            "sla_due_at": due, "updated_at": now}],
                          columns=("owner_id", "team_id", "in_pool", "sla_due_at", "updated_at"))  # fmt: skip
    if policy is not None and due is not None:
        previous = uow.routing.sla_for(lead["id"])
        uow.routing.put_sla({"lead_id": lead["id"], "policy": policy.name, "owner_id": owner, "started_at": now,
                             "due_at": due, "responded_at": None, "response_seconds": None, "status": "due",
                             "reclaims": previous["reclaims"] if previous else 0, "updated_at": now})  # fmt: skip
        uow.jobs.enqueue([sla_check_job(lead["id"], due, now)])
    if team_id is not None and decision.state is not None:
        last_rep = uuid.UUID(decision.state.last_rep) if decision.state.last_rep else None
        uow.routing.save_team_state(team_id, last_rep, decision.state.credits, now)
    uow.audit.record(at=now, actor=actor, action="lead.routed", entity="lead", entity_id=lead["id"],
                     data={"to": decision.rep, "team": decision.team, "reason": decision.reason})  # fmt: skip
    return decision


def route_backlog(
    *, uow_factory: UnitOfWorkFactory, now: datetime, actor: str, limit: int = 1000
) -> list[RoutingDecision]:
    """Route the shared pool's open leads, oldest first, one transaction per lead."""
    if not 1 <= limit <= 100_000:
        raise ValidationError("limit", f"must be between 1 and 100000, got {limit}")
    with uow_factory(write=False) as uow:
        waiting = [row["id"] for row in uow.routing.pool_leads(limit)]
    decisions = []
    for lead_id in waiting:
        with uow_factory() as uow:
            lead = uow.leads.get(lead_id)
            if lead is None or not lead["in_pool"]:
                continue  # claimed or routed meanwhile
            decision = assign_lead(uow=uow, lead=lead, now=now, actor=actor)
            if decision is None:
                raise ValidationError(
                    "routing", "no routing rules are active; import and activate some first"
                )
            if decision.rep is None:
                continue  # still nobody: leave it untouched (no new assignment row)
            uow.commit()
            decisions.append(decision)
    return decisions


def routing_history(*, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID) -> list[Row]:
    """Every owner change of a lead, with the rule and reason that decided it."""
    with uow_factory(write=False) as uow:
        if uow.leads.get(lead_id) is None:
            raise NotFound("lead", lead_id)
        return uow.routing.assignments_for(lead_id)


def sla_clock(*, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID) -> Row | None:
    with uow_factory(write=False) as uow:
        return uow.routing.sla_for(lead_id)


@dataclass(frozen=True)
class Replay:
    """How a routing rule set would have distributed the leads of the last ``days`` days."""

    version: int
    days: int
    leads: int
    per_rep: dict[str, int]
    per_team: dict[str, int]
    per_rule: dict[str, int]
    to_pool: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def replay_rules(*, uow_factory: UnitOfWorkFactory, version: int, days: int, now: datetime,
                 limit: int = 200_000) -> Replay:  # fmt: skip
    """Route the leads created in the last ``days`` days again, in creation order, with rule
    set ``version`` (draft or active), writing nothing: each lead at its creation time, reps'
    open leads counted from zero at the start of the window, daily limits per day."""
    if not 1 <= days <= 3660:
        raise ValidationError("days", f"must be between 1 and 3660, got {days}")
    with uow_factory(write=False) as uow:
        chosen = uow.routing.rule_set("routing", version)
        if chosen is None:
            raise NotFound("routing rule set", f"v{version}")
        teams = [row["name"] for row in uow.routing.teams()]
        rules = parse_rules(chosen["spec"], teams=teams)
        setup = _Setup(rules, (), {}, uow.routing.reps(), calendars_by_name(uow))
        roster = _roster(uow, setup, now)
        leads = uow.routing.leads_created_since(now - timedelta(days=days), limit)
    reps = {
        rep.id: replace(rep, open_leads=0, new_today=0) for team in roster.values() for rep in team
    }
    names = {rep.id: rep.name for rep in reps.values()}
    state: dict[str, TeamState] = {}
    per_rep: Counter[str] = Counter()
    per_team: Counter[str] = Counter()
    per_rule: Counter[str] = Counter()
    to_pool, day = 0, None
    for lead in leads:
        if lead["created_at"].date() != day:
            day = lead["created_at"].date()
            reps = {i: replace(r, new_today=0) for i, r in reps.items()}
        teams_now = defaultdict(list)
        for rep in reps.values():
            teams_now[rep.team].append(rep)
        decision = route_lead(lead_facts(lead), rules, teams_now, state, now=lead["created_at"])
        per_rule[decision.rule.name if decision.rule else "(no rule)"] += 1
        if decision.rep is None:
            to_pool += 1
            continue
        state[decision.team or ""] = decision.state or TeamState()
        picked = reps[decision.rep]
        reps[decision.rep] = replace(
            picked, open_leads=picked.open_leads + 1, new_today=picked.new_today + 1
        )
        per_rep[f"{names[decision.rep]} ({decision.team})"] += 1
        per_team[decision.team or ""] += 1
    return Replay(version, days, len(leads), dict(per_rep.most_common()), dict(per_team.most_common()),
                  dict(per_rule.most_common()), to_pool)  # fmt: skip
