"""Use cases: train a predictive model, evaluate it, activate it behind the gate.

* :func:`train_model` learns from the store's history (see :mod:`.dataset` for labels and
  the time split) and stores a new *draft* version with its validation metrics; with
  ``activate`` it also activates it if it passes the gate.
* :func:`evaluate_model` re-scores a stored model on the current store, with its own
  cutoff: validation leads are still only those created after it.
* :func:`activate_model` evaluates afresh and activates only when the model beats both
  baselines (:mod:`.assessment`); otherwise it refuses with the numbers. The previous
  active version is retired in the same transaction: never two active, never none half-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import DomainError, StorageError, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import ConcurrentWrite, Row, UnitOfWork, UnitOfWorkFactory
from leadfunnel.services.predictive.assessment import assess
from leadfunnel.services.predictive.dataset import label, split_by_time
from leadfunnel.services.predictive.features import Encoder
from leadfunnel.services.predictive.learners import LogisticModel, fit_logistic
from leadfunnel.services.predictive.spec import TrainingSpec
from leadfunnel.services.predictive.store import (
    load_histories,
    model_versions,
    pick_model,
    set_status,
)

__all__ = [
    "ActivationRefused",
    "ModelReport",
    "activate_model",
    "evaluate_model",
    "train_model",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
_ATTEMPTS = 3


class ActivationRefused(DomainError):
    """A model that does not beat its baselines on the validation split."""

    code = "activation_refused"


@dataclass(frozen=True)
class ModelReport:
    """A stored model version and its validation metrics."""

    name: str
    version: int
    status: str
    target: str
    horizon_days: int
    trained_at: datetime
    spec: dict[str, Any]
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "target": self.target,
            "horizon_days": self.horizon_days,
            "trained_at": self.trained_at.isoformat(),
            "spec": self.spec,
            "metrics": self.metrics,
        }

    @classmethod
    def of(cls, row: Row, metrics: dict[str, Any] | None = None) -> ModelReport:
        return cls(
            name=row["name"],
            version=row["version"],
            status=row["status"],
            target=row["target"],
            horizon_days=row["horizon_days"],
            trained_at=row["trained_at"],
            spec=row["model"]["spec"],
            metrics=metrics if metrics is not None else row["metrics"],
        )


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(
            "name", f"'{name}' must be lower-case letters, digits, '_' or '-' (at most 100)"
        )
    return name


def train_model(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    spec: TrainingSpec,
    actor: str,
    now: datetime,
    activate: bool = False,
) -> ModelReport:
    """Train and store a new version of ``name``. Raises :class:`ActivationRefused` after
    storing the draft when ``activate`` was asked and the gate refused."""
    check_name(name)
    with uow_factory(write=False) as uow:
        histories = load_histories(uow)
    examples, counts = label(histories, spec, now=now)
    split = split_by_time(examples, spec, counts)
    encoder = Encoder.fit([e.raw for e in split.train], spec)
    rows = [encoder.tokens(e.raw) for e in split.train]
    model = fit_logistic(encoder, rows, [e.label for e in split.train])
    metrics = assess(model, split)
    document = {"spec": spec.to_dict(), "cutoff": split.cutoff.isoformat(), **model.to_dict()}
    passed = metrics["gate"]["passed"]
    for _ in range(_ATTEMPTS):
        try:
            with uow_factory() as uow:
                row = _store(uow, name, spec, document, metrics, actor, now, activate and passed)
                uow.commit()
            break
        except ConcurrentWrite:  # another training of the same name took the version
            continue
    else:
        raise StorageError(f"model '{name}' kept colliding with concurrent trainings; try again")
    if activate and not passed:
        raise ActivationRefused(
            _refusal(row, metrics, stored_as="stored as a draft, not activated")
        )
    return ModelReport.of(row)


def _store(
    uow: UnitOfWork,
    name: str,
    spec: TrainingSpec,
    document: dict[str, Any],
    metrics: dict[str, Any],
    actor: str,
    now: datetime,
    activate: bool,
) -> Row:
    versions = model_versions(uow, name)
    if activate:
        for previous in versions:
            if previous["status"] == "active":
                set_status(uow, previous, "retired", previous["activated_at"])
    row: Row = {
        "id": new_id(), "name": name, "version": (versions[-1]["version"] if versions else 0) + 1,
        "target": spec.target, "horizon_days": spec.horizon_days,
        "status": "active" if activate else "draft", "model": document, "metrics": metrics,
        "trained_at": now, "created_by": actor, "activated_at": now if activate else None,
    }  # fmt: skip
    uow.records.insert("predictive_models", [row])
    uow.audit.record(
        at=now, actor=actor, action="predictive_model.trained", entity="predictive_model",
        entity_id=row["id"], data={"name": name, "version": row["version"], "status": row["status"],
                                   "auc": metrics["model"]["auc"], "gate": metrics["gate"]},
    )  # fmt: skip
    return row


def _evaluate(row: Row, *, uow_factory: UnitOfWorkFactory, now: datetime) -> dict[str, Any]:
    document = row["model"]
    spec = TrainingSpec.from_dict(document["spec"])
    model = LogisticModel.from_dict(document)
    with uow_factory(write=False) as uow:
        histories = load_histories(uow)
    examples, counts = label(histories, spec, now=now)
    cutoff = datetime.fromisoformat(document["cutoff"])
    return assess(model, split_by_time(examples, spec, counts, cutoff=cutoff))


def evaluate_model(
    *, uow_factory: UnitOfWorkFactory, name: str, version: int | None = None, now: datetime
) -> ModelReport:
    """The model (that version, else the active one, else the newest) scored on the
    current store against both baselines. Writes nothing."""
    with uow_factory(write=False) as uow:
        row = pick_model(model_versions(uow, name), name, version)
    return ModelReport.of(row, _evaluate(row, uow_factory=uow_factory, now=now))


def activate_model(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    version: int | None = None,
    actor: str,
    now: datetime,
) -> ModelReport:
    """Activate a version (default: the newest) if it beats both baselines now."""
    with uow_factory(write=False) as uow:
        versions = model_versions(uow, name)
    newest = versions[-1]["version"] if versions else None
    row = pick_model(versions, name, version if version is not None else newest)
    metrics = _evaluate(row, uow_factory=uow_factory, now=now)
    if not metrics["gate"]["passed"]:
        raise ActivationRefused(_refusal(row, metrics, stored_as="not activated"))
    with uow_factory() as uow:
        for current in model_versions(uow, name):
            if current["status"] == "active" and current["id"] != row["id"]:
                set_status(uow, current, "retired", current["activated_at"])
        set_status(uow, row, "active", now)
        uow.records.update(
            "predictive_models", [{"id": row["id"], "metrics": metrics}], columns=("metrics",)
        )
        uow.audit.record(
            at=now, actor=actor, action="predictive_model.activated", entity="predictive_model",
            entity_id=row["id"], data={"name": name, "version": row["version"], "gate": metrics["gate"]},
        )  # fmt: skip
        uow.commit()
    return ModelReport.of({**row, "status": "active"}, metrics)


def _refusal(row: Row, metrics: dict[str, Any], *, stored_as: str) -> str:
    reasons = "; ".join(metrics["gate"]["reasons"])
    return f"model '{row['name']}' version {row['version']} {stored_as}: {reasons}"
