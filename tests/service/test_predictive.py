"""Predictive scoring use cases on a real (SQLite) store: train, evaluate, the activation
gate, predictions with factors, the threshold suggestion."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.services.intake import IntakeItem, intake_batch
from leadfunnel.services.lead_input import parse_lead_input
from leadfunnel.services.predictive import (
    ActivationRefused,
    TrainingSpec,
    activate_model,
    evaluate_model,
    predict_leads,
    suggest_threshold,
    train_model,
)
from leadfunnel.services.predictive.learners import LogisticModel

START = datetime(2025, 1, 1, tzinfo=UTC)
SPEC = TrainingSpec.build(
    target="sql", horizon_days=30, observe_days=1, fields=["channel", "industry"], min_count=5
)
#: Conversion odds: the channel matters, and so does whether the lead told us its industry
#: (the naive-Bayes baseline skips unset fields, as Odoo does, so it misses the second).
RATES = {("webinar", True): 0.8, ("webinar", False): 0.35, ("paid_search", True): 0.5,
         ("paid_search", False): 0.12, ("display", True): 0.2, ("display", False): 0.03}  # fmt: skip


def seed(app, n: int = 360, *, start: datetime = START, prefix: str = "lead", rng_seed: int = 5,
         history: bool = True):  # fmt: skip
    """``n`` leads, one every 16 hours from ``start``; those that convert enter mql after 2
    days and sql after 5 (with ``history``; without, all are still new). Returns
    {lead id: converted}."""
    rng = random.Random(rng_seed)
    items, plan = [], []
    for i in range(n):
        channel = ("webinar", "paid_search", "display")[i % 3]
        known = rng.random() < 0.6
        created = start + timedelta(hours=16 * i)
        raw = {"email": f"{prefix}{i}@example.com", "channel": channel,
               "occurred_at": created.isoformat(), "industry": rng.choice(["saas", "retail"]) if known else None}  # fmt: skip
        items.append(
            IntakeItem(
                parse_lead_input(
                    {k: v for k, v in raw.items() if v}, now=created, default_region="US"
                )
            )
        )
        plan.append((created, history and rng.random() < RATES[(channel, known)]))  # fmt: skip
    results = intake_batch(
        uow_factory=app.uow_factory, items=items, source="api", actor="test", now=app.clock()
    )
    transitions, moved = [], []
    for result, (created, converts) in zip(results, plan, strict=True):
        if not converts:
            continue
        for stage, days, previous in (("mql", 2, "lead"), ("sql", 5, "mql")):
            transitions.append({"id": _id(), "lead_id": result.lead_id, "from_stage": previous,
                                "to_stage": stage, "at": created + timedelta(days=days), "actor": "test", "reason": None})  # fmt: skip
        moved.append({"id": result.lead_id, "stage": "sql", "stage_entered_at": created + timedelta(days=5)})  # fmt: skip
    with app.uow_factory() as uow:
        uow.records.insert("stage_transitions", transitions)
        uow.records.update("leads", moved, columns=("stage", "stage_entered_at"))
        uow.commit()
    return {r.lead_id: converts for r, (_, converts) in zip(results, plan, strict=True)}


def _id():
    from leadfunnel.domain.ids import new_id

    return new_id()


def train(app, name: str = "conversion", activate: bool = False, spec: TrainingSpec = SPEC):
    return train_model(
        uow_factory=app.uow_factory, name=name, spec=spec, actor="test", now=app.clock(),
        activate=activate,
    )  # fmt: skip


def stored(app, name: str = "conversion"):
    with app.uow_factory(write=False) as uow:
        rows = uow.records.select_in("predictive_models", "name", [name])
    return {r["version"]: r for r in rows}


def test_training_stores_a_draft_whose_parameters_are_json_data_with_validation_metrics(app):
    seed(app)
    report = train(app)
    assert (report.version, report.status, report.target) == (1, "draft", "sql")
    row = stored(app)[1]
    document = json.loads(json.dumps(row["model"]))  # plain JSON, nothing executable
    assert document["format"] == "leadfunnel.logistic/1" and document["spec"]["fields"] == [
        "channel", "industry"
    ]  # fmt: skip
    metrics = row["metrics"]
    counts = metrics["counts"]
    assert counts["leads"] == 360 and counts["train"] + counts["gap"] + counts["validation"] == 360
    assert counts["validation"] == 72
    assert metrics["model"]["auc"] > metrics["naive_bayes"]["auc"] > 0.5
    assert len(metrics["model"]["lift"]) == 10 and metrics["model"]["calibration"]
    assert metrics["rule_score"] == {
        "available": False,
        "reason": "no validation lead has a rule score (run the rule scoring first)",
    }
    assert metrics["gate"]["passed"]


def test_evaluate_re_scores_the_model_on_its_own_split_and_writes_nothing(app):
    seed(app)
    trained = train(app)
    evaluated = evaluate_model(uow_factory=app.uow_factory, name="conversion", now=app.clock())
    assert evaluated.metrics["model"]["auc"] == trained.metrics["model"]["auc"]
    assert evaluated.metrics["cutoff"] == trained.metrics["cutoff"]
    assert stored(app)[1]["status"] == "draft"


def test_the_gate_refuses_a_model_that_does_not_beat_the_rule_score_and_activates_nothing(app):
    converted = seed(app)
    with app.uow_factory() as uow:  # a rule score that already knows the outcome
        uow.records.update("leads", [{"id": i, "score": 90 if c else 10} for i, c in converted.items()],
                           columns=("score",))  # fmt: skip
        uow.commit()
    train(app)
    with pytest.raises(ActivationRefused) as refused:
        activate_model(
            uow_factory=app.uow_factory, name="conversion", actor="test", now=app.clock()
        )
    assert "version 1 not activated: validation AUC 0." in refused.value.message
    assert "does not beat the rule score (1.0000)" in refused.value.message
    assert [r["status"] for r in stored(app).values()] == ["draft"]


def test_train_with_activate_keeps_a_refused_model_as_a_draft(app):
    converted = seed(app)
    with app.uow_factory() as uow:
        uow.records.update("leads", [{"id": i, "score": 90 if c else 10} for i, c in converted.items()],
                           columns=("score",))  # fmt: skip
        uow.commit()
    with pytest.raises(ActivationRefused, match="version 1 stored as a draft, not activated"):
        train(app, activate=True)
    assert stored(app)[1]["status"] == "draft"


def test_activation_retires_the_previous_version_in_the_same_transaction(app, clock):
    seed(app)
    assert train(app, activate=True).status == "active"
    clock.now += timedelta(hours=1)
    train(app)
    report = activate_model(
        uow_factory=app.uow_factory, name="conversion", actor="test", now=clock.now
    )
    assert report.version == 2 and report.status == "active"
    versions = stored(app)
    assert (versions[1]["status"], versions[2]["status"]) == ("retired", "active")
    assert versions[2]["activated_at"] == clock.now
    with app.uow_factory(write=False) as uow:
        audit = uow.audit.for_entity("predictive_model", versions[2]["id"])
    assert [a["action"] for a in audit] == [
        "predictive_model.trained",
        "predictive_model.activated",
    ]


def test_predict_scores_open_leads_with_their_top_factors(app, clock):
    seed(app)
    train(app, activate=True)
    fresh = seed(app, n=6, start=clock.now - timedelta(days=4), prefix="new", history=False)
    run = predict_leads(uow_factory=app.uow_factory, name="conversion", now=clock.now)
    with app.uow_factory(write=False) as uow:
        rows = {
            r["lead_id"]: r
            for r in uow.records.select_in("lead_predictions", "model", ["conversion"])
        }
    assert set(fresh) <= set(rows) and run.written == len(rows)
    with app.uow_factory(write=False) as uow:
        stages = uow.leads.current_stages()
    assert all(stages[lead_id] not in ("sql", "won") for lead_id in rows)
    first = rows[next(iter(fresh))]
    assert first["model_version"] == 1 and 0 < float(first["probability"]) < 1
    assert [f["feature"] for f in first["factors"]][:1] and len(first["factors"]) == 3
    assert [p.probability for p in run.predictions] == sorted(
        (p.probability for p in run.predictions), reverse=True
    )


def test_a_stored_model_read_back_predicts_what_predict_stored(app, clock):
    seed(app)
    train(app, activate=True)
    lead_id = next(
        iter(seed(app, n=3, start=clock.now - timedelta(days=3), prefix="x", history=False))
    )
    run = predict_leads(
        uow_factory=app.uow_factory, name="conversion", now=clock.now, lead_id=lead_id
    )
    (only,) = run.predictions
    from leadfunnel.services.predictive.features import observe
    from leadfunnel.services.predictive.store import load_histories

    model = LogisticModel.from_dict(json.loads(json.dumps(stored(app)[1]["model"])))
    with app.uow_factory(write=False) as uow:
        (history,) = load_histories(uow, [lead_id])
    assert model.probability(observe(history, SPEC, only.as_of)) == only.probability


def test_predict_needs_an_active_model(app):
    seed(app)
    train(app)
    with pytest.raises(ValidationError, match="'conversion' has no active version"):
        predict_leads(uow_factory=app.uow_factory, name="conversion", now=datetime.now(UTC))
    with pytest.raises(NotFound, match="predictive model 'other' not found"):
        predict_leads(uow_factory=app.uow_factory, name="other", now=datetime.now(UTC))


def test_too_little_history_is_refused_with_the_counts(app):
    seed(app, n=30)
    with pytest.raises(
        ValidationError, match=r"history: the train split has \d+ leads that reached sql"
    ):
        train(app)
    assert stored(app) == {}


def test_suggest_threshold_fits_the_capacity_to_the_recent_inflow(app):
    seed(app)
    train(app)
    model, found = suggest_threshold(
        uow_factory=app.uow_factory, name="conversion", reps=1, leads_per_rep_week=3
    )
    # one lead every 16 hours: 10.5 a week; 3 of them fit
    assert found.leads_per_week == pytest.approx(7 * 24 / 16, rel=0.01)
    assert found.share == pytest.approx(3 / 10.5, rel=0.01)
    assert found.capture > found.share and found.lift > 1
    assert model["version"] == 1
