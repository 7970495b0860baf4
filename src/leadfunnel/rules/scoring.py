"""Scoring a lead: fit + engagement with decay and caps, grade, priority; explained.

``score_lead(lead, touches, model, now)`` is a pure function. Semantics, in order:

1. **Fit**: every fit rule whose condition holds on the lead adds its points once.
2. **Behaviour**: each behaviour rule looks at the lead's touchpoints up to ``now``, oldest
   first. A matching touch earns the rule's points, less whatever its per-period cap has
   already handed out in that period (periods are ``days`` long, counted from the Unix
   epoch). Each touch's points then decay by its age: ``points * 0.5 ** (age_days /
   half_life_days)``. The rule's decayed total is capped at ``max_points`` (for a negative
   rule: at ``-max_points``).
3. **Score** = round(fit + engagement), where engagement is the sum over behaviour rules.
4. **Grade** = fit letter (A if fit >= band A, ... D below band C) + engagement tier (1 if
   engagement >= band 1, ... 4 below band 3): ``B2``.
5. **Priority** = the first tier whose condition holds on the lead plus its new score.

Worked example (half-life 30 days): a "pricing page" rule of 15 points capped at 15 a day.
Two pricing-page views on one day 30 days ago and one view today: the first old view earns
15, the second 0 (the day's cap is spent), today's view 15. Decayed: 15 * 0.5 + 0 + 15 =
22.5 points of engagement.

The breakdown records every rule that fired, its points before and after caps and decay,
and the time it was computed, so ``leadfunnel score explain`` can show why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadfunnel.rules.conditions import Condition
from leadfunnel.rules.scoring_model import BehaviourRule, Qualification, ScoringModel

__all__ = ["RuleHit", "ScoreBreakdown", "qualification_for", "score_lead"]

_DAY_SECONDS = 86_400.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RuleHit:
    rule: str
    kind: str  # "fit" or "behaviour"
    events: int  # touches that matched (1 for a fit rule)
    points: float  # what the rule adds to the score
    before_decay: float  # after the per-period cap, before decay and the rule's cap
    capped: bool  # the per-period or total cap took something away

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "events": self.events, "points": round(self.points, 2),
                "before_decay": round(self.before_decay, 2), "capped": self.capped}  # fmt: skip


@dataclass(frozen=True)
class ScoreBreakdown:
    model: str
    score: int
    fit: float
    engagement: float
    fit_grade: str
    engagement_tier: int
    priority: str
    hits: tuple[RuleHit, ...]
    as_of: datetime

    @property
    def grade(self) -> str:
        return f"{self.fit_grade}{self.engagement_tier}"

    def outcome_facts(self, lead: Mapping[str, Any]) -> dict[str, Any]:
        """The lead's facts plus its score: what priority tiers and qualification read."""
        return {**lead, "score": self.score, "fit": self.fit, "engagement": self.engagement,
                "grade": self.grade, "fit_grade": self.fit_grade, "engagement_tier": self.engagement_tier}  # fmt: skip

    def explanation(self) -> dict[str, Any]:
        return {
            "model": self.model, "as_of": self.as_of.isoformat(), "score": self.score,
            "fit": round(self.fit, 2), "engagement": round(self.engagement, 2), "grade": self.grade,
            "priority": self.priority, "rules": [hit.to_dict() for hit in self.hits],
        }  # fmt: skip


def _band_letter(fit: float, bands: Mapping[str, float]) -> str:
    for letter in ("A", "B", "C"):
        if fit >= bands[letter]:
            return letter
    return "D"


def _band_tier(engagement: float, bands: Mapping[int, float]) -> int:
    for tier in (1, 2, 3):
        if engagement >= bands[tier]:
            return tier
    return 4


def _at(touch: Mapping[str, Any]) -> datetime:
    moment: datetime = touch["at"]
    return moment


class _Timeline:
    """A lead's touches up to ``now``, oldest first (a stable sort: ties as given), with the
    times every rule needs (seconds since the epoch, age in days) computed once per touch.

    A condition on one field reads nothing else, so it is decided once per distinct text
    value of that field (a lead's touches repeat a few kinds and pages), not once per touch:
    :meth:`matching` groups the touches by value once per field and lets each rule pick
    whole groups."""

    def __init__(self, touches: Sequence[Mapping[str, Any]], now: datetime) -> None:
        self.touches = sorted((t for t in touches if t["at"] <= now), key=_at)
        self.times = [((t["at"] - _EPOCH).total_seconds(), (now - t["at"]).total_seconds() / _DAY_SECONDS)
                      for t in self.touches]  # fmt: skip
        self._groups: dict[str, tuple[dict[str | None, list[int]], list[int]]] = {}

    def _grouped(self, name: str) -> tuple[dict[str | None, list[int]], list[int]]:
        """Positions by text value of ``name``, and the positions of other values."""
        if name not in self._groups:
            by_value: dict[str | None, list[int]] = {}
            other: list[int] = []
            for i, touch in enumerate(self.touches):
                value = touch.get(name)
                if value is None or type(value) is str:
                    by_value.setdefault(value, []).append(i)
                else:
                    other.append(i)
            self._groups[name] = (by_value, other)
        return self._groups[name]

    def matching(self, condition: Condition) -> list[tuple[float, float]]:
        """(seconds, age in days) of the touches ``condition`` holds for, oldest first."""
        holds, touches = condition.holds, self.touches
        if len(condition.fields) != 1:
            return [self.times[i] for i, touch in enumerate(touches) if holds(touch)]
        by_value, other = self._grouped(next(iter(condition.fields)))
        chosen = [i for i in other if holds(touches[i])]
        for positions in by_value.values():
            if holds(touches[positions[0]]):
                chosen += positions
        chosen.sort()
        return [self.times[i] for i in chosen]


def _behaviour(rule: BehaviourRule, timeline: _Timeline) -> RuleHit | None:
    matched = timeline.matching(rule.when)
    if not matched:
        return None
    spent: dict[int, float] = {}
    total = before_decay = 0.0
    capped = False
    step, cap, half_life = abs(rule.points), rule.period_points, rule.half_life_days
    period_seconds = None if rule.period_days is None else rule.period_days * _DAY_SECONDS
    for seconds, age_days in matched:
        points = rule.points
        if cap is not None and period_seconds is not None:
            period = int(seconds // period_seconds)
            room = max(cap - spent.get(period, 0.0), 0.0)
            allowed = min(step, room)
            capped = capped or allowed < step
            spent[period] = spent.get(period, 0.0) + allowed
            points = allowed if points >= 0 else -allowed
        before_decay += points
        if half_life is not None:
            points *= 0.5 ** (age_days / half_life)
        total += points
    if rule.max_points is not None and abs(total) > rule.max_points:
        total = rule.max_points if total > 0 else -rule.max_points
        capped = True
    return RuleHit(rule.name, "behaviour", len(matched), total, before_decay, capped)


def score_lead(
    lead: Mapping[str, Any],
    touches: Sequence[Mapping[str, Any]],
    model: ScoringModel,
    *,
    now: datetime,
) -> ScoreBreakdown:
    """Score one lead (see the module docstring). ``touches`` carry ``at`` (aware UTC)."""
    hits = [RuleHit(rule.name, "fit", 1, rule.points, rule.points, False)
            for rule in model.fit_rules if rule.when.holds(lead)]  # fmt: skip
    fit = sum(hit.points for hit in hits)
    engagement = 0.0
    timeline = _Timeline(touches, now)
    for rule in model.behaviour_rules:
        hit = _behaviour(rule, timeline)
        if hit is not None:
            hits.append(hit)
            engagement += hit.points
    fit_grade = _band_letter(fit, model.fit_bands)
    tier = _band_tier(engagement, model.engagement_bands)
    draft = ScoreBreakdown(
        model.name, round(fit + engagement), fit, engagement, fit_grade, tier, "C", tuple(hits), now
    )
    facts = draft.outcome_facts(lead)
    priority = next(p.tier for p in model.priorities if p.when is None or p.when.holds(facts))
    return ScoreBreakdown(
        model.name, draft.score, fit, engagement, fit_grade, tier, priority, tuple(hits), now
    )


def qualification_for(
    model: ScoringModel, lead: Mapping[str, Any], breakdown: ScoreBreakdown
) -> Qualification | None:
    """The first qualification rule that moves this lead from its current stage, if any."""
    facts = breakdown.outcome_facts(lead)
    for rule in model.qualifications:
        if any(stage.value == lead.get("stage") for stage in rule.from_stages) and rule.when.holds(
            facts
        ):
            return rule
    return None
