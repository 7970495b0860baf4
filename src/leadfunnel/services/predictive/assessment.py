"""A model against its two baselines on the validation split, and the activation gate.

The baselines, scored on the same validation leads:

* **naive Bayes** (:mod:`.naive_bayes`): Odoo-style frequencies, fit on the same training
  leads and the same feature tokens;
* **rule score**: the lead's current rule-based score (``leads.score``; a lead without one
  counts as 0). It is today's score, which may already reflect behaviour after the scoring
  moment, so if anything it flatters the baseline. When no validation lead has a score the
  baseline is reported as unavailable.

**Gate.** A model may be activated only if its validation AUC is higher than each available
baseline's. AUC is the gate because a lead score is used to rank leads for sales; log loss
and calibration are reported beside it.
"""

from __future__ import annotations

from typing import Any

from leadfunnel.services.predictive.dataset import Split
from leadfunnel.services.predictive.evaluation import capture_curve, describe
from leadfunnel.services.predictive.learners import LogisticModel
from leadfunnel.services.predictive.naive_bayes import FrequencyModel

__all__ = ["GATE_METRIC", "assess"]

GATE_METRIC = "auc"


def assess(model: LogisticModel, split: Split) -> dict[str, Any]:
    """The metrics document stored with a model (and printed by ``score evaluate``)."""
    labels = [e.label for e in split.validation]
    tokens = [model.encoder.tokens(e.raw) for e in split.validation]
    probabilities = [model.probability_of(t) for t in tokens]
    naive = FrequencyModel.fit(
        [model.encoder.tokens(e.raw) for e in split.train], [e.label for e in split.train]
    )
    report: dict[str, Any] = {
        "cutoff": split.cutoff.isoformat(),
        "counts": split.counts,
        "base_rate": sum(labels) / len(labels),
        "model": {**describe(labels, probabilities, probabilistic=True),
                  "curve": capture_curve(labels, probabilities)},
        "naive_bayes": describe(
            labels, [naive.probability(t) for t in tokens], probabilistic=True
        ),
    }  # fmt: skip
    if all(e.history.score is None for e in split.validation):
        report["rule_score"] = {
            "available": False,
            "reason": "no validation lead has a rule score (run the rule scoring first)",
        }
    else:
        scores = [float(e.history.score or 0) for e in split.validation]
        report["rule_score"] = {"available": True, **describe(labels, scores, probabilistic=False)}
    report["gate"] = gate(report)
    return report


def gate(report: dict[str, Any]) -> dict[str, Any]:
    """Whether the model's validation AUC beats every available baseline's, and why not."""
    ours = report["model"][GATE_METRIC]
    reasons = []
    for key, title in (
        ("naive_bayes", "the naive-Bayes baseline"),
        ("rule_score", "the rule score"),
    ):
        baseline = report[key]
        if baseline.get("available") is False:
            continue
        theirs = baseline[GATE_METRIC]
        if ours is None or theirs is None or ours <= theirs:
            reasons.append(f"validation AUC {_fmt(ours)} does not beat {title} ({_fmt(theirs)})")
    return {"metric": GATE_METRIC, "passed": not reasons, "reasons": reasons}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
