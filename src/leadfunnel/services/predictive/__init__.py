"""Predictive (machine-learned) lead scoring: docs/concepts/predictive-scoring.md.

Modules, in the order data flows through them:

* :mod:`.spec`: what to learn (target, windows, features) and the leakage rules;
* :mod:`.history`, :mod:`.dataset`: lead histories, labels, the time-based split;
* :mod:`.features`: raw features at the scoring moment -> tokens;
* :mod:`.learners`: calibrated logistic regression, stored as JSON data;
* :mod:`.naive_bayes`, :mod:`.evaluation`, :mod:`.assessment`: baselines, metrics, the gate;
* :mod:`.threshold`: an MQL threshold from sales capacity;
* :mod:`.training`, :mod:`.prediction`: the use cases.
"""

from __future__ import annotations

from leadfunnel.services.predictive.prediction import predict_leads, suggest_threshold
from leadfunnel.services.predictive.spec import TrainingSpec, load_spec
from leadfunnel.services.predictive.training import (
    ActivationRefused,
    ModelReport,
    activate_model,
    evaluate_model,
    train_model,
)

__all__ = [
    "ActivationRefused",
    "ModelReport",
    "TrainingSpec",
    "activate_model",
    "evaluate_model",
    "load_spec",
    "predict_leads",
    "suggest_threshold",
    "train_model",
]
