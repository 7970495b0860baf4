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

Two scorers decide this (a :class:`~leadfunnel.services.ports.BulkScorer`): lead by lead in
pure Python (:func:`per_lead_scorer`, the per-event path and the reference), and column-wise
over every lead at once (the store's, ``adapters/scoring``), which passes over every lead
(activation, ``score run``, dry runs) use unless told otherwise. Tests hold the two equal.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import FUNNEL_PATH
from leadfunnel.rules.facts import lead_facts, touch_facts
from leadfunnel.rules.scoring import ScoreBreakdown, qualification_for, score_lead
from leadfunnel.rules.scoring_model import ScoringModel
from leadfunnel.services.ports import BulkScorer, BulkScores, Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.scoring_models import ModelVersion

__all__ = [
    "DryRun",
    "PassSummary",
    "activate_model",
    "dry_run",
    "ScorerFactory",
    "explain_lead",
    "per_lead_scorer",
    "rescore_all",
    "rescore_leads",
]

PAGE = 2000

#: Builds the scorer of a pass over every lead on a unit of work.
ScorerFactory = Callable[[UnitOfWork], BulkScorer]
Models = Sequence[tuple[int, ScoringModel]]  # (version, compiled model), in priority order


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


_COMPILED: dict[Any, ScoringModel] = {}  # by version id: a stored version never changes


def _compiled(version: ModelVersion) -> ScoringModel:
    """The version's compiled model, compiled once per process (per-event re-scores would
    otherwise re-validate every rule of every active model on each touchpoint)."""
    if version.id not in _COMPILED:
        if len(_COMPILED) >= 64:
            _COMPILED.clear()
        _COMPILED[version.id] = version.compiled()
    return _COMPILED[version.id]


def _live(uow: UnitOfWork) -> list[tuple[int, ScoringModel]]:
    """The active models as (version, compiled model), by name."""
    live = []
    for row in uow.scoring.active_versions():
        model = _COMPILED.get(row["id"])
        if model is None:
            model = _compiled(_version(uow, row["name"], row["version"]))
        live.append((int(row["version"]), model))
    return live


def _touches_by_lead(
    uow: UnitOfWork, lead_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for touch in uow.scoring.touches_for(list(lead_ids)):
        found[touch["lead_id"]].append(touch_facts(touch))
    return found


class _LeadByLead:
    """The :class:`BulkScorer` that scores each lead in turn with :func:`score_lead`: the
    per-event path, and the reference the column-wise scorer is tested against."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def score_all(self, models: Models, *, now: datetime, write: bool, check: str | None = None) -> BulkScores:
        found = BulkScores()
        reached: dict[uuid.UUID, set[str]] = defaultdict(set)
        if check is not None:
            for lead_id, stage in self.uow.transitions.stages_entered():
                reached[lead_id].add(stage)
            found.checks = {rule.name: [0] * 6 for _, m in models if m.name == check for rule in m.qualifications}
        after = None
        while page := self.uow.scoring.lead_page(after, PAGE):
            self.score(page, models, now=now, write=write, found=found, check=check, reached=reached)
            after = page[-1]["id"]
        return found

    def score(self, leads: list[Row], models: Models, *, now: datetime, write: bool, found: BulkScores,
              check: str | None = None, reached: Mapping[uuid.UUID, set[str]] | None = None) -> None:  # fmt: skip
        """Score ``leads``, adding what is decided to ``found``."""
        ids = [lead["id"] for lead in leads]
        touches = _touches_by_lead(self.uow, ids)
        previous = self.uow.scoring.latest_scores(ids)
        scores, updates = [], []
        for lead in leads:
            found.leads += 1
            facts = lead_facts(lead)
            results: dict[str, ScoreBreakdown] = {}
            for version, model in models:
                if model.applies_to is not None and not model.applies_to.holds(facts):
                    continue
                result = results[model.name] = score_lead(facts, touches.get(lead["id"], []), model, now=now)
                scores.append(_score_row(lead["id"], version, result, now))
                _note_hot(found, lead["id"], version, model, result, previous.get((lead["id"], model.name)))
            if check is not None and check in results:
                model = next(m for _, m in models if m.name == check)
                _count_thresholds(model, facts, results[check], (reached or {}).get(lead["id"], set()), found.checks)
            if results:
                updates += _note_primary(found, lead, facts, results, models, previous, now)
        if write:
            self.uow.scoring.put_scores(scores)
            self.uow.leads.update_many(updates, columns=("score", "grade", "updated_at"))


def _note_hot(found: BulkScores, lead_id: uuid.UUID, version: int, model: ScoringModel, result: ScoreBreakdown,
              before: Row | None) -> None:  # fmt: skip
    """A hot lead: the score reached the threshold from below (or on its first score)."""
    threshold = model.hot_threshold
    if threshold is not None and result.score >= threshold and (before is None or before["score"] < threshold):
        found.hot.append({"lead_id": lead_id, "model": model.name, "version": version, "score": result.score,
                          "previous": None if before is None else before["score"]})  # fmt: skip


def _note_primary(found: BulkScores, lead: Row, facts: Mapping[str, Any], results: dict[str, ScoreBreakdown],
                  models: Models, previous: Mapping[tuple[uuid.UUID, str], Row], now: datetime) -> list[Row]:  # fmt: skip
    """Count the lead's primary result and its move; the lead's new score and grade if they
    changed."""
    found.scored += 1
    primary = next(iter(results.values()))
    found.grades[primary.grade] = found.grades.get(primary.grade, 0) + 1
    old = previous.get((lead["id"], next(iter(results))))
    found.grade_changed += old is None or old["grade"] != primary.grade
    found.priority_changed += old is None or old["priority"] != primary.priority
    move = next(((v, m, rule) for v, m in models if m.name in results
                 and (rule := qualification_for(m, facts, results[m.name])) is not None), None)  # fmt: skip
    if move is not None:
        version, model, rule = move
        found.moves.append({"lead_id": lead["id"], "from_stage": lead["stage"], "stage_entered_at": lead["stage_entered_at"],
                            "lead_version": lead["version"], "model": model.name, "version": version,
                            "rule": rule.name, "to": rule.to.value})  # fmt: skip
    if primary.score != lead["score"] or primary.grade != lead["grade"]:
        return [{"id": lead["id"], "score": primary.score, "grade": primary.grade, "updated_at": now}]
    return []


def per_lead_scorer(uow: UnitOfWork) -> BulkScorer:
    """A scorer that scores each lead in turn with :func:`score_lead` (pure Python)."""
    return _LeadByLead(uow)


def _store_scorer(uow: UnitOfWork) -> BulkScorer:
    return uow.scoring.bulk_scorer()


def _score_row(lead_id: uuid.UUID, version: int, result: ScoreBreakdown, now: datetime) -> dict[str, Any]:
    explanation = {**result.explanation(), "version": version}
    return {"lead_id": lead_id, "model": result.model, "model_version": version,
            "score": result.score, "fit": round(result.fit), "engagement": round(result.engagement),
            "grade": result.grade, "priority": result.priority, "explanation": explanation, "as_of": now}  # fmt: skip


def _apply(uow: UnitOfWork, found: BulkScores, *, now: datetime, actor: str, write: bool) -> PassSummary:
    """The summary of what was decided; with ``write``, the hot-lead events, stage moves and
    their audit entries (the scores are already written by the scorer)."""
    summary = PassSummary(leads=found.leads, scored=found.scored, grade_changed=found.grade_changed,
                          priority_changed=found.priority_changed, hot=len(found.hot), grades=Counter(found.grades))  # fmt: skip
    events = [{"id": new_id(), "lead_id": hot["lead_id"], "kind": "lead.hot", "at": now, "consumed_at": None,
               "data": {"model": hot["model"], "version": hot["version"], "score": hot["score"], "previous": hot["previous"]}}
              for hot in found.hot]  # fmt: skip
    transitions, stage_updates, audits = [], [], []
    for move in found.moves:
        summary.moved[f"{move['from_stage']}->{move['to']}"] += 1
        at = max(now, move["stage_entered_at"])
        reason = f"scoring model {move['model']} v{move['version']}: {move['rule']}"
        transitions.append({"id": new_id(), "lead_id": move["lead_id"], "from_stage": move["from_stage"],
                            "to_stage": move["to"], "at": at, "actor": actor, "reason": reason})  # fmt: skip
        stage_updates.append({"id": move["lead_id"], "stage": move["to"], "stage_entered_at": at,
                              "updated_at": now, "version": move["lead_version"] + 1})  # fmt: skip
        audits.append({"id": new_id(), "at": now, "actor": actor, "action": "lead.stage_changed",
                       "entity": "lead", "entity_id": move["lead_id"],
                       "data": {"from": move["from_stage"], "to": move["to"], "reason": reason}})  # fmt: skip
    if write:
        uow.leads.update_many(stage_updates, columns=("stage", "stage_entered_at", "updated_at", "version"))
        uow.scoring.add_events(events)
        uow.transitions.append_many(transitions)
        uow.audit.record_many(audits)
    return summary


def rescore_leads(
    *, uow: UnitOfWork, lead_ids: Sequence[uuid.UUID], now: datetime, actor: str
) -> PassSummary:
    """Re-score these leads inside the caller's unit of work (after a touchpoint or an edit).

    Lead by lead in pure Python: for one lead this is well under a millisecond of scoring
    (``bench/bench_scoring.py``)."""
    models = _live(uow)
    found = BulkScores()
    if models and lead_ids:
        leads = uow.records.select_in("leads", "id", list(dict.fromkeys(lead_ids)))
        for start in range(0, len(leads), PAGE):
            _LeadByLead(uow).score(leads[start : start + PAGE], models, now=now, write=True, found=found)
    return _apply(uow, found, now=now, actor=actor, write=True)


def rescore_all(
    *, uow_factory: UnitOfWorkFactory, now: datetime, actor: str, scorer: ScorerFactory | None = None
) -> PassSummary:
    """Re-score every lead with the active models, in one transaction. ``scorer`` defaults
    to the store's column-wise scorer."""
    with uow_factory() as uow:
        models = _live(uow)
        found = BulkScores()
        if models:
            found = (scorer or _store_scorer)(uow).score_all(models, now=now, write=True)
        summary = _apply(uow, found, now=now, actor=actor, write=True)
        uow.commit()
    return summary


def _version(uow: UnitOfWork, name: str, version: int | None) -> ModelVersion:
    row = uow.scoring.model(name, version)
    if row is None:
        raise NotFound("scoring model", name if version is None else f"{name} v{version}")
    return ModelVersion.from_row(row)


def activate_model(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    version: int,
    actor: str,
    now: datetime,
    scorer: ScorerFactory | None = None,
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
        found = (scorer or _store_scorer)(uow).score_all(_live(uow), now=now, write=True)
        summary = _apply(uow, found, now=now, actor=actor, write=True)
        uow.commit()
    return summary


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


def dry_run(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    version: int,
    now: datetime,
    scorer: ScorerFactory | None = None,
) -> DryRun:
    """What activating ``name`` v``version`` would change, writing nothing: grade, priority
    and stage changes against today's scores, and for each qualification rule how the
    leads it selects (whatever their stage) converted to sql and won so far."""
    with uow_factory(write=False) as uow:
        candidate = _version(uow, name, version)
        current = next(
            (ModelVersion.from_row(r) for r in uow.scoring.active_models() if r["name"] == name),
            None,
        )
        compiled = _compiled(candidate)
        models = [m for m in _live(uow) if m[1].name != name] + [(candidate.version, compiled)]
        models.sort(key=lambda m: m[1].name)
        found = (scorer or _store_scorer)(uow).score_all(models, now=now, write=False, check=name)
        summary = _apply(uow, found, now=now, actor="dry-run", write=False)
    thresholds = [ThresholdCheck(rule.name, *found.checks.get(rule.name, [0] * 6))
                  for rule in compiled.qualifications]  # fmt: skip
    return DryRun(candidate, current, summary, thresholds)


_SQL_OR_LATER = {s.value for s in FUNNEL_PATH[2:]}  # sql, opportunity, won


def _count_thresholds(model: ScoringModel, facts: Mapping[str, Any], result: ScoreBreakdown, entered: set[str],
                      checks: dict[str, list[int]]) -> None:  # fmt: skip
    outcome = result.outcome_facts(facts)
    reached_sql = bool(entered & _SQL_OR_LATER)
    won = "won" in entered
    for rule in model.qualifications:
        counts = checks[rule.name]
        offset = 0 if rule.when.holds(outcome) else 3
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
    for version, model in models:
        applies = model.applies_to is None or model.applies_to.holds(facts)
        fresh = score_lead(facts, touches, model, now=now) if applies else None
        row = stored.get((lead_id, model.name))
        out.append({"model": model.name, "version": version, "applies": applies,
                    "stored": None if row is None else {**row["explanation"], "as_of": row["as_of"].isoformat()},
                    "now": None if fresh is None else fresh.explanation()})  # fmt: skip
    return out
