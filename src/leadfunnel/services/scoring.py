"""Scoring leads with the active models: incrementally, in bulk, on activation, explained.

Every pass over leads does the same, per lead and per active model that applies to it
(``applies_to``): score it (:func:`leadfunnel.rules.scoring.score_lead`), store the score
with its explanation (``lead_scores``), emit ``lead.hot`` when the score rises to or past
the model's ``hot_threshold``, and apply the first qualification rule that moves it (a
stage transition whose reason names the model, version and rule). ``leads.score`` and
``leads.grade`` hold the result of the lead's **primary** model: the first active model, by
name, that applies to it.

Scores decay with time, so a periodic ``leadfunnel score run`` (nightly) keeps them current;
every touchpoint or field change re-scores its lead at once (:func:`rescore_leads`).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import FUNNEL_PATH
from leadfunnel.rules.facts import lead_facts, touch_facts
from leadfunnel.rules.scoring import ScoreBreakdown, qualification_for, score_lead
from leadfunnel.rules.scoring_model import ScoringModel
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.scoring_models import ModelVersion

__all__ = [
    "DryRun",
    "PassSummary",
    "activate_model",
    "dry_run",
    "explain_lead",
    "rescore_all",
    "rescore_leads",
]

PAGE = 2000


@dataclass(frozen=True)
class _Live:
    version: ModelVersion
    model: ScoringModel


@dataclass
class PassSummary:
    """What a pass over leads did (or, in a dry run, would do)."""

    leads: int = 0
    scored: int = 0
    grade_changed: int = 0
    priority_changed: int = 0
    moved: Counter[str] = field(default_factory=Counter)  # "lead->mql": n
    hot: int = 0
    grades: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"leads": self.leads, "scored": self.scored, "grade_changed": self.grade_changed,
                "priority_changed": self.priority_changed, "moved": dict(self.moved), "hot": self.hot,
                "grades": dict(sorted(self.grades.items()))}  # fmt: skip


def _live(uow: UnitOfWork) -> list[_Live]:
    return [_Live(v, v.compiled()) for v in map(ModelVersion.from_row, uow.scoring.active_models())]


def _touches_by_lead(
    uow: UnitOfWork, lead_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for touch in uow.records.select_in("touchpoints", "lead_id", list(lead_ids)):
        found[touch["lead_id"]].append(touch_facts(touch))
    return found


class _Pass:
    """Scores pages of leads with ``models``; with ``apply`` writes what it decides."""

    def __init__(
        self, uow: UnitOfWork, models: list[_Live], *, now: datetime, actor: str, apply: bool
    ) -> None:
        self.uow, self.models, self.now, self.actor, self.apply = uow, models, now, actor, apply
        self.summary = PassSummary()
        self.decisions: list[tuple[Row, dict[str, ScoreBreakdown]]] = []  # kept for dry runs

    def page(self, leads: list[Row]) -> None:
        ids = [lead["id"] for lead in leads]
        touches = _touches_by_lead(self.uow, ids)
        previous = self.uow.scoring.scores_for(ids)
        scores, updates, stage_updates, events, transitions, audits = [], [], [], [], [], []
        for lead in leads:
            self.summary.leads += 1
            facts = lead_facts(lead)
            results: dict[str, ScoreBreakdown] = {}
            move = None
            for live in self.models:
                model = live.model
                if model.applies_to is not None and not model.applies_to.holds(facts):
                    continue
                result = score_lead(facts, touches.get(lead["id"], []), model, now=self.now)
                results[model.name] = result
                before = previous.get((lead["id"], model.name))
                scores.append(self._score_row(lead["id"], live, result))
                if (
                    model.hot_threshold is not None
                    and result.score >= model.hot_threshold
                    and (before is None or before["score"] < model.hot_threshold)
                ):
                    self.summary.hot += 1
                    events.append({"id": new_id(), "lead_id": lead["id"], "kind": "lead.hot", "at": self.now, "consumed_at": None,
                                   "data": {"model": model.name, "version": live.version.version, "score": result.score,
                                            "previous": None if before is None else before["score"]}})  # fmt: skip
                if move is None and (rule := qualification_for(model, facts, result)) is not None:
                    move = (live, rule)
            if not self.apply:
                self.decisions.append((lead, results))
            if not results:
                continue
            self.summary.scored += 1
            primary = next(iter(results.values()))
            self.summary.grades[primary.grade] += 1
            old_primary = next((previous.get((lead["id"], name)) for name in results), None)
            if old_primary is None or old_primary["grade"] != primary.grade:
                self.summary.grade_changed += 1
            if old_primary is None or old_primary["priority"] != primary.priority:
                self.summary.priority_changed += 1
            if primary.score != lead["score"] or primary.grade != lead["grade"]:
                updates.append(
                    {
                        "id": lead["id"],
                        "score": primary.score,
                        "grade": primary.grade,
                        "updated_at": self.now,
                    }
                )
            if move is not None:
                live, rule = move
                self.summary.moved[f"{lead['stage']}->{rule.to.value}"] += 1
                at = max(self.now, lead["stage_entered_at"])
                reason = f"scoring model {live.model.name} v{live.version.version}: {rule.name}"
                transitions.append({"id": new_id(), "lead_id": lead["id"], "from_stage": lead["stage"],
                                    "to_stage": rule.to.value, "at": at, "actor": self.actor, "reason": reason})  # fmt: skip
                stage_updates.append({"id": lead["id"], "stage": rule.to.value, "stage_entered_at": at,
                                      "updated_at": self.now, "version": lead["version"] + 1})  # fmt: skip
                audits.append({"id": new_id(), "at": self.now, "actor": self.actor, "action": "lead.stage_changed",
                               "entity": "lead", "entity_id": lead["id"],
                               "data": {"from": lead["stage"], "to": rule.to.value, "reason": reason}})  # fmt: skip
        if self.apply:
            self.uow.scoring.put_scores(scores)
            self.uow.leads.update_many(updates, columns=("score", "grade", "updated_at"))
            self.uow.leads.update_many(
                stage_updates, columns=("stage", "stage_entered_at", "updated_at", "version")
            )
            self.uow.scoring.add_events(events)
            self.uow.transitions.append_many(transitions)
            self.uow.audit.record_many(audits)

    def _score_row(self, lead_id: uuid.UUID, live: _Live, result: ScoreBreakdown) -> dict[str, Any]:
        explanation = {**result.explanation(), "version": live.version.version}
        return {"lead_id": lead_id, "model": live.model.name, "model_version": live.version.version,
                "score": result.score, "fit": round(result.fit), "engagement": round(result.engagement),
                "grade": result.grade, "priority": result.priority, "explanation": explanation, "as_of": self.now}  # fmt: skip


def _all_pages(uow: UnitOfWork, size: int) -> Iterator[list[Row]]:
    after = None
    while page := uow.scoring.lead_page(after, size):
        yield page
        after = page[-1]["id"]


def rescore_leads(
    *, uow: UnitOfWork, lead_ids: Sequence[uuid.UUID], now: datetime, actor: str
) -> PassSummary:
    """Re-score these leads inside the caller's unit of work (after a touchpoint or an edit)."""
    models = _live(uow)
    run = _Pass(uow, models, now=now, actor=actor, apply=True)
    if models and lead_ids:
        leads = uow.records.select_in("leads", "id", list(dict.fromkeys(lead_ids)))
        for start in range(0, len(leads), PAGE):
            run.page(leads[start : start + PAGE])
    return run.summary


def rescore_all(
    *, uow_factory: UnitOfWorkFactory, now: datetime, actor: str, page_size: int = PAGE
) -> PassSummary:
    """Re-score every lead with the active models, in one transaction."""
    with uow_factory() as uow:
        run = _Pass(uow, _live(uow), now=now, actor=actor, apply=True)
        if run.models:
            for page in _all_pages(uow, page_size):
                run.page(page)
        uow.commit()
    return run.summary


def _version(uow: UnitOfWork, name: str, version: int | None) -> ModelVersion:
    row = uow.scoring.model(name, version)
    if row is None:
        raise NotFound("scoring model", name if version is None else f"{name} v{version}")
    return ModelVersion.from_row(row)


def activate_model(
    *, uow_factory: UnitOfWorkFactory, name: str, version: int, actor: str, now: datetime
) -> PassSummary:
    """Make ``name`` v``version`` the active model of its name and re-score every lead, all in
    one transaction: a failure leaves the previous model and every score as they were."""
    with uow_factory() as uow:
        chosen = _version(uow, name, version)
        if chosen.status == "active":
            raise ValidationError("version", f"{name} v{version} is already active")
        for row in uow.scoring.active_models():
            if row["name"] == name:
                uow.scoring.set_status(row["id"], "retired", row["activated_at"])
        uow.scoring.set_status(chosen.id, "active", now)
        uow.audit.record(at=now, actor=actor, action="scoring_model.activated", entity="scoring_model",
                         entity_id=chosen.id, data={"name": name, "version": version})  # fmt: skip
        run = _Pass(uow, _live(uow), now=now, actor=actor, apply=True)
        for page in _all_pages(uow, PAGE):
            run.page(page)
        uow.commit()
    return run.summary


@dataclass(frozen=True)
class ThresholdCheck:
    """How leads the candidate's qualification rule selects converted on history."""

    rule: str
    selected: int
    selected_reached_sql: int
    selected_won: int
    others: int
    others_reached_sql: int
    others_won: int

    def to_dict(self) -> dict[str, Any]:
        def rate(n: int, d: int) -> float | None:
            return n / d if d else None

        return {**self.__dict__, "selected_sql_rate": rate(self.selected_reached_sql, self.selected),
                "selected_win_rate": rate(self.selected_won, self.selected),
                "others_sql_rate": rate(self.others_reached_sql, self.others),
                "others_win_rate": rate(self.others_won, self.others)}  # fmt: skip


@dataclass(frozen=True)
class DryRun:
    candidate: ModelVersion
    current: ModelVersion | None
    summary: PassSummary
    thresholds: list[ThresholdCheck]

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate.to_dict(), "current": self.current.to_dict() if self.current else None,
                "would": self.summary.to_dict(), "thresholds": [t.to_dict() for t in self.thresholds]}  # fmt: skip


def dry_run(*, uow_factory: UnitOfWorkFactory, name: str, version: int, now: datetime) -> DryRun:
    """What activating ``name`` v``version`` would change, writing nothing: grade, priority
    and stage changes against today's scores, and for each qualification rule how the
    leads it selects (whatever their stage) converted to sql and won so far."""
    with uow_factory(write=False) as uow:
        candidate = _version(uow, name, version)
        current = next(
            (ModelVersion.from_row(r) for r in uow.scoring.active_models() if r["name"] == name),
            None,
        )
        models = [m for m in _live(uow) if m.model.name != name] + [
            _Live(candidate, candidate.compiled())
        ]
        models.sort(key=lambda m: m.model.name)
        run = _Pass(uow, models, now=now, actor="dry-run", apply=False)
        reached: dict[uuid.UUID, set[str]] = defaultdict(set)
        for lead_id, stage in uow.transitions.stages_entered():
            reached[lead_id].add(stage)
        compiled = candidate.compiled()
        checks = {rule.name: [0] * 6 for rule in compiled.qualifications}
        for page in _all_pages(uow, PAGE):
            run.page(page)
            for lead, results in run.decisions:
                _count_thresholds(
                    compiled, lead, results.get(name), reached.get(lead["id"], set()), checks
                )
            run.decisions.clear()
    thresholds = [ThresholdCheck(rule, *counts) for rule, counts in checks.items()]
    return DryRun(candidate, current, run.summary, thresholds)


_SQL_OR_LATER = {s.value for s in FUNNEL_PATH[2:]}  # sql, opportunity, won


def _count_thresholds(model: ScoringModel, lead: Row, result: ScoreBreakdown | None, entered: set[str],
                      checks: dict[str, list[int]]) -> None:  # fmt: skip
    if result is None:
        return
    facts = result.outcome_facts(lead_facts(lead))
    reached_sql = bool(entered & _SQL_OR_LATER)
    won = "won" in entered
    for rule in model.qualifications:
        counts = checks[rule.name]
        offset = 0 if rule.when.holds(facts) else 3
        counts[offset] += 1
        counts[offset + 1] += reached_sql
        counts[offset + 2] += won


def explain_lead(
    *, uow_factory: UnitOfWorkFactory, lead_id: uuid.UUID, now: datetime
) -> list[dict[str, Any]]:
    """Per active model: the stored score with its explanation, and the score as of ``now``
    (they differ when decay has moved on since the last re-score)."""
    with uow_factory(write=False) as uow:
        lead = uow.leads.get(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        stored = uow.scoring.scores_for([lead_id])
        touches = _touches_by_lead(uow, [lead_id]).get(lead_id, [])
        models = _live(uow)
    facts = lead_facts(lead)
    out = []
    for live in models:
        applies = live.model.applies_to is None or live.model.applies_to.holds(facts)
        fresh = score_lead(facts, touches, live.model, now=now) if applies else None
        row = stored.get((lead_id, live.model.name))
        out.append({"model": live.model.name, "version": live.version.version, "applies": applies,
                    "stored": None if row is None else {**row["explanation"], "as_of": row["as_of"].isoformat()},
                    "now": None if fresh is None else fresh.explanation()})  # fmt: skip
    return out
