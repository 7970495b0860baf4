"""Lead routing: which team, then which rep, and why.

``route_lead(lead, rules, roster, state, now)`` is a pure function:

1. **Rules**, in order, first match wins: each has a condition (the shared condition
   language, over the lead and its score/grade), a target team and a distribution strategy.
   No match: the lead goes to the shared pool.
2. **Eligible reps** of the team: active, not away (out of office) and inside their working
   hours (their own calendar), under capacity (open leads, new leads today), with the skills
   the rule asks for (and the lead's product line, when the rule says so), and not excluded
   for this lead (e.g. the rep whose SLA breach reclaimed it). Every rep passed over is
   listed with why.
3. **Strategy** among the eligible:

   * ``round_robin``: the next rep after the team's last pick, in a fixed order (by id);
   * ``weighted``: smooth weighted round-robin (each rep's share is its weight over the sum);
   * ``load_balanced``: the rep with the fewest open leads (then fewest new today, then order);
   * ``score_tiered``: leads scoring at least ``senior_min_score`` go round-robin to reps of
     at least ``senior_level``, the others to the rest; when a tier has nobody eligible the
     other tier takes the lead (and the reason says so).

   Nobody eligible: the lead waits in the shared pool, marked for the team, until a rep is
   available (``leadfunnel route run`` picks up such backlogs).

The decision returns the team's new distribution state (last pick, weighted credits); the
caller stores it in the same transaction as the assignment, so concurrent intakes see each
other's picks.

Worked example: rule 3 'East manufacturing' sends a manufacturing lead from East to team
East, round-robin. Reps in order 11, 12, 17; the last pick was 11; rep 12 is at capacity
(40 of 40 open): the lead goes to rep 17, reason ``rule 3 'East manufacturing' -> team East,
round_robin -> rep 17; skipped: rep 12 at capacity (40/40 open)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.business_time import BusinessCalendar
from leadfunnel.rules.conditions import Condition, compile_condition
from leadfunnel.rules.documents import named_items
from leadfunnel.rules.scoring_model import LEAD_DYNAMIC, OUTCOME_FIELDS

__all__ = [
    "STRATEGIES",
    "Rep",
    "RoutingDecision",
    "RoutingRule",
    "TeamState",
    "parse_rules",
    "route_lead",
]

STRATEGIES = ("round_robin", "weighted", "load_balanced", "score_tiered")


@dataclass(frozen=True)
class RoutingRule:
    number: int  # 1-based position, as people count rules
    name: str
    when: Condition
    team: str
    strategy: str
    skills: frozenset[str] = frozenset()
    match_product_line: bool = False
    senior_min_score: float = 70.0
    senior_level: int = 2

    @property
    def label(self) -> str:
        return f"rule {self.number} '{self.name}'"


@dataclass(frozen=True)
class Rep:
    id: str
    name: str
    team: str
    active: bool = True
    weight: float = 1.0
    seniority: int = 1
    max_open: int | None = None
    max_new_per_day: int | None = None
    open_leads: int = 0
    new_today: int = 0
    skills: frozenset[str] = frozenset()
    product_lines: frozenset[str] = frozenset()  # empty: every product line
    calendar: BusinessCalendar | None = None  # None: always available
    away: tuple[tuple[datetime, datetime], ...] = ()  # out of office, days off


@dataclass(frozen=True)
class TeamState:
    last_rep: str | None = None
    credits: Mapping[str, float] = field(default_factory=dict)  # weighted round-robin


@dataclass(frozen=True)
class RoutingDecision:
    rule: RoutingRule | None
    team: str | None
    rep: str | None  # None: to the shared pool
    reason: str
    skipped: tuple[tuple[str, str], ...]
    state: TeamState | None  # the team's new state when a rep was picked
    lead: str | None = None  # set by the caller that knows which lead it routed

    def to_dict(self) -> dict[str, Any]:
        return {"lead": self.lead,"rule": self.rule.name if self.rule else None, "rule_number": self.rule.number if self.rule else None,
                "team": self.team, "rep": self.rep, "reason": self.reason,
                "skipped": [{"rep": rep, "why": why} for rep, why in self.skipped]}  # fmt: skip


def _why_not(
    rep: Rep, rule: RoutingRule, lead: Mapping[str, Any], now: datetime, exclude: frozenset[str]
) -> str | None:
    if rep.id in exclude:
        return "excluded for this lead"
    if not rep.active:
        return "inactive"
    if any(start <= now < end for start, end in rep.away):
        return "away"
    if rep.calendar is not None and not any(
        b <= now < e for b, e in rep.calendar.windows(rep.calendar.local_date(now))
    ):
        return "outside working hours"
    if rep.max_open is not None and rep.open_leads >= rep.max_open:
        return f"at capacity ({rep.open_leads}/{rep.max_open} open)"
    if rep.max_new_per_day is not None and rep.new_today >= rep.max_new_per_day:
        return f"daily limit reached ({rep.new_today}/{rep.max_new_per_day} new today)"
    missing = sorted(rule.skills - rep.skills)
    if missing:
        return f"lacks skill {', '.join(missing)}"
    line = lead.get("product_interest")
    if rule.match_product_line and line and rep.product_lines and line not in rep.product_lines:
        return f"does not sell {line}"
    return None


def _next_in_turn(reps: Sequence[Rep], team: Sequence[Rep], last: str | None) -> Rep:
    order = [r.id for r in team]
    start = order.index(last) + 1 if last in order else 0
    rank = {rep_id: (i - start) % len(order) for i, rep_id in enumerate(order)}
    return min(reps, key=lambda r: rank[r.id])


def _weighted(reps: Sequence[Rep], state: TeamState) -> tuple[Rep, dict[str, float]]:
    credits = {r.id: state.credits.get(r.id, 0.0) + r.weight for r in reps}
    chosen = max(reps, key=lambda r: (credits[r.id], -reps.index(r)))
    credits[chosen.id] -= sum(r.weight for r in reps)
    return chosen, {**state.credits, **credits}


def _pick(rule: RoutingRule, eligible: list[Rep], team: Sequence[Rep], state: TeamState,
          lead: Mapping[str, Any]) -> tuple[Rep, TeamState, str]:  # fmt: skip
    if rule.strategy == "weighted":
        rep, credits = _weighted(eligible, state)
        return rep, TeamState(rep.id, credits), "weighted"
    if rule.strategy == "load_balanced":
        rep = min(eligible, key=lambda r: (r.open_leads, r.new_today, team.index(r)))
        return rep, replace(state, last_rep=rep.id), f"load_balanced ({rep.open_leads} open)"
    note = "round_robin"
    if rule.strategy == "score_tiered":
        senior_lead = (lead.get("score") or 0) >= rule.senior_min_score
        tier = [r for r in eligible if (r.seniority >= rule.senior_level) == senior_lead]
        note = f"score_tiered ({'senior' if senior_lead else 'other'} reps)"
        if tier:
            eligible = tier
        else:
            note += ", none eligible in the tier: any rep"
    rep = _next_in_turn(eligible, team, state.last_rep)
    return rep, replace(state, last_rep=rep.id), note


def route_lead(
    lead: Mapping[str, Any],
    rules: Sequence[RoutingRule],
    roster: Mapping[str, Sequence[Rep]],
    state: Mapping[str, TeamState],
    *,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> RoutingDecision:
    """Decide where ``lead`` (its facts, with score and grade) goes; see the module doc.
    ``roster`` is each team's reps in a fixed order; ``state`` the teams' distribution state."""
    rule = next((r for r in rules if r.when.holds(lead)), None)
    if rule is None:
        return RoutingDecision(None, None, None, "no rule matched -> shared pool", (), None)
    team = list(roster.get(rule.team, ()))
    skipped = tuple(
        (rep.id, why)
        for rep in team
        if (why := _why_not(rep, rule, lead, now, exclude)) is not None
    )
    passed = {rep_id for rep_id, _ in skipped}
    eligible = [rep for rep in team if rep.id not in passed]
    head = f"{rule.label} -> team {rule.team}"
    skips = (
        "; skipped: " + ", ".join(f"rep {rep_id} {why}" for rep_id, why in skipped)
        if skipped
        else ""
    )
    if not eligible:
        reason = f"{head}, nobody available -> shared pool (waiting for team {rule.team}){skips}"
        return RoutingDecision(rule, rule.team, None, reason, skipped, None)
    rep, new_state, how = _pick(rule, eligible, team, state.get(rule.team, TeamState()), lead)
    return RoutingDecision(
        rule, rule.team, rep.id, f"{head}, {how} -> rep {rep.id}{skips}", skipped, new_state
    )


_RULE_KEYS = {
    "name",
    "when",
    "team",
    "strategy",
    "skills",
    "match_product_line",
    "senior_min_score",
    "senior_level",
}


def parse_rules(doc: Mapping[str, Any], *, teams: Sequence[str]) -> tuple[RoutingRule, ...]:
    """Routing rules from ``[[rule]]`` tables; teams must exist. Errors name rule and field."""
    rules: list[RoutingRule] = []
    for where, item in named_items(doc, "rule", allowed=_RULE_KEYS):
        name = str(item["name"])
        team = item.get("team")
        if team not in teams:
            raise ValidationError(
                f"{where}.team",
                f"unknown team {team!r}; teams: {', '.join(sorted(teams)) or 'none yet'}",
            )
        strategy = item.get("strategy", "round_robin")
        if strategy not in STRATEGIES:
            raise ValidationError(
                f"{where}.strategy", f"{strategy!r} is not one of: {', '.join(STRATEGIES)}"
            )
        skills = item.get("skills", [])
        if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
            raise ValidationError(f"{where}.skills", "must be a list of skill names")
        level = item.get("senior_level", 2)
        min_score = item.get("senior_min_score", 70)
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise ValidationError(f"{where}.senior_level", "must be a whole number from 1")
        if isinstance(min_score, bool) or not isinstance(min_score, int | float):
            raise ValidationError(f"{where}.senior_min_score", "must be a number")
        when = compile_condition(item.get("when", {"all": []}), schema=OUTCOME_FIELDS, dynamic=LEAD_DYNAMIC,
                                 where=f"{where}.when")  # fmt: skip
        rules.append(RoutingRule(len(rules) + 1, name.strip(), when, str(team), str(strategy), frozenset(skills),
                                 bool(item.get("match_product_line", False)), float(min_score), level))  # fmt: skip
    return tuple(rules)
