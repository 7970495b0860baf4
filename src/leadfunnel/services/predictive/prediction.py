"""Use cases: score leads with the active model, and suggest an MQL threshold.

:func:`predict_leads` scores the open leads (not yet at the target, not lost or
disqualified) with the name's active model, from what was known at each lead's scoring
moment (or now, for a lead younger than ``observe_days``), and replaces the model's rows in
``lead_predictions`` in one transaction: probability, model version, and the top factors.
With ``lead_id`` it scores that one lead, whatever its stage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadfunnel.domain.errors import NotFound
from leadfunnel.services.ports import UnitOfWorkFactory
from leadfunnel.services.predictive.features import observe
from leadfunnel.services.predictive.history import reached_at, scoring_moment
from leadfunnel.services.predictive.learners import Factor, LogisticModel
from leadfunnel.services.predictive.spec import TrainingSpec
from leadfunnel.services.predictive.store import load_histories, model_versions, pick_model
from leadfunnel.services.predictive.threshold import ThresholdSuggestion, suggest
from leadfunnel.services.predictive.training import check_name

__all__ = [
    "INFLOW_WEEKS",
    "LeadPrediction",
    "PredictionRun",
    "predict_leads",
    "suggest_threshold",
]

#: Weekly lead inflow is averaged over this many weeks up to the newest lead.
INFLOW_WEEKS = 12
_CLOSED = ("lost", "disqualified")


@dataclass(frozen=True)
class LeadPrediction:
    lead_id: uuid.UUID
    probability: float
    factors: list[Factor]
    as_of: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_id": str(self.lead_id),
            "probability": round(self.probability, 6),
            "factors": [f.to_dict() for f in self.factors],
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class PredictionRun:
    name: str
    version: int
    target: str
    horizon_days: int
    written: int
    #: Highest probability first.
    predictions: list[LeadPrediction]


def predict_leads(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    now: datetime,
    lead_id: uuid.UUID | None = None,
    top: int = 3,
) -> PredictionRun:
    """Score leads with the active version of ``name`` and store the predictions."""
    check_name(name)
    with uow_factory(write=False) as uow:
        row = pick_model(model_versions(uow, name), name, None, active=True)
        histories = load_histories(uow, None if lead_id is None else [lead_id])
    if lead_id is not None and not histories:
        raise NotFound("lead", lead_id)
    spec = TrainingSpec.from_dict(row["model"]["spec"])
    model = LogisticModel.from_dict(row["model"])
    if lead_id is None:
        histories = [
            h for h in histories if h.stage not in _CLOSED and reached_at(h, spec.target) is None
        ]
    predictions = []
    for history in histories:
        as_of = min(now, scoring_moment(history, spec.observe_days))
        raw = observe(history, spec, as_of)
        predictions.append(
            LeadPrediction(history.id, model.probability(raw), model.factors(raw, top), as_of)
        )
    predictions.sort(key=lambda p: (-p.probability, p.lead_id))
    rows = [
        {"lead_id": p.lead_id, "model": name, "model_version": row["version"],
         "probability": round(p.probability, 6), "factors": [f.to_dict() for f in p.factors],
         "as_of": now}
        for p in predictions
    ]  # fmt: skip
    with uow_factory() as uow:
        if lead_id is None:
            uow.records.delete_in("lead_predictions", "model", [name])
        else:
            uow.records.delete_in("lead_predictions", "lead_id", [lead_id], where={"model": name})
        uow.records.insert("lead_predictions", rows)
        uow.commit()
    return PredictionRun(
        name, row["version"], row["target"], row["horizon_days"], len(rows), predictions
    )


def suggest_threshold(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    reps: int,
    leads_per_rep_week: float,
    leads_per_week: float | None = None,
) -> tuple[dict[str, Any], ThresholdSuggestion]:
    """The model's identity and a threshold for this capacity. The weekly inflow is
    ``leads_per_week`` if given, else the average over the :data:`INFLOW_WEEKS` weeks up to
    the newest lead."""
    with uow_factory(write=False) as uow:
        row = pick_model(model_versions(uow, name), name, None)
        if leads_per_week is None:
            created = [r[0] for r in uow.records.scan("leads", ("created_at",))]
            leads_per_week = _weekly_inflow(created)
    suggestion = suggest(
        row["metrics"]["model"]["curve"],
        capacity_per_week=reps * leads_per_rep_week,
        leads_per_week=leads_per_week,
    )
    model = {"name": row["name"], "version": row["version"], "status": row["status"],
             "target": row["target"], "horizon_days": row["horizon_days"]}  # fmt: skip
    return model, suggestion


def _weekly_inflow(created: list[datetime]) -> float:
    if not created:
        return 0.0
    newest = max(created)
    start = max(min(created), newest - timedelta(weeks=INFLOW_WEEKS))
    recent = sum(1 for at in created if at >= start)
    weeks = max(1.0, (newest - start) / timedelta(weeks=1))
    return recent / weeks
