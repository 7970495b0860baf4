"""How good a score is on held-out leads: AUC, log loss, calibration, lift and capture.

Worked example: labels ``[1, 0, 1, 0]`` and probabilities ``[0.9, 0.8, 0.3, 0.1]``.

* **AUC**: of the 4 (positive, negative) pairs, the positive scores higher in 3
  (0.9 > 0.8, 0.9 > 0.1, 0.3 > 0.1; not 0.3 vs 0.8): AUC = 3/4 = 0.75. Ties count half.
* **Log loss**: -(ln 0.9 + ln 0.2 + ln 0.3 + ln 0.9) / 4 = 0.756.
* **Lift and capture by group** (halves here, deciles in reports): the top half (0.9,
  0.8) holds 1 of the 2 positives: rate 50 %, lift 1.0 (the base rate is 50 %), capture
  50 %. Leads with equal scores that straddle a group boundary share their positives
  across the groups in proportion, so ties never depend on row order.
* **Calibration**: predicted probabilities in equal-width bins ([0, 0.1), ..., [0.9, 1]):
  the mean predicted probability against the observed rate of each bin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import groupby
from typing import Any

__all__ = [
    "brier_score",
    "calibration_table",
    "capture_curve",
    "describe",
    "lift_table",
    "log_loss",
    "roc_auc",
]


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); ``None`` without both classes."""
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    ordered = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    rank_sum, position = 0.0, 0
    for _, group in groupby(ordered, key=lambda pair: pair[0]):
        members = list(group)
        average_rank = position + (len(members) + 1) / 2
        rank_sum += average_rank * sum(1 for _, y in members if y)
        position += len(members)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(labels: Sequence[int], probabilities: Sequence[float], eps: float = 1e-15) -> float:
    """Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps]."""
    total = 0.0
    for y, p in zip(labels, probabilities, strict=True):
        p = min(max(p, eps), 1 - eps)
        total -= math.log(p) if y else math.log(1 - p)
    return total / len(labels)


def brier_score(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    return sum((p - y) ** 2 for y, p in zip(labels, probabilities, strict=True)) / len(labels)


def calibration_table(
    labels: Sequence[int], probabilities: Sequence[float], bins: int = 10
) -> list[dict[str, Any]]:
    """Per non-empty equal-width bin: its range, leads, mean predicted, observed rate."""
    groups: dict[int, list[tuple[int, float]]] = {}
    for y, p in zip(labels, probabilities, strict=True):
        groups.setdefault(min(int(p * bins), bins - 1), []).append((y, p))
    return [
        {
            "low": i / bins,
            "high": (i + 1) / bins,
            "leads": len(members),
            "predicted": sum(p for _, p in members) / len(members),
            "observed": sum(y for y, _ in members) / len(members),
        }
        for i, members in sorted(groups.items())
    ]


def _grouped_positives(labels: Sequence[int], scores: Sequence[float], groups: int) -> list[float]:
    """Positives in each of ``groups`` equal slices of the leads ranked by score (highest
    first); a run of tied scores spreads its positives over the slices it spans."""
    n = len(labels)
    bounds = [(g * n) // groups for g in range(groups + 1)]
    found = [0.0] * groups
    ordered = sorted(zip(scores, labels, strict=True), key=lambda pair: -pair[0])
    start = 0
    for _, run in groupby(ordered, key=lambda pair: pair[0]):
        members = list(run)
        size, hits = len(members), sum(1 for _, y in members if y)
        for g in range(groups):
            overlap = min(start + size, bounds[g + 1]) - max(start, bounds[g])
            if overlap > 0:
                found[g] += hits * overlap / size
        start += size
    return found


def lift_table(
    labels: Sequence[int], scores: Sequence[float], groups: int = 10
) -> list[dict[str, Any]]:
    """Per group of leads ranked by score (decile 1 = the top 10 %): leads, positives, rate,
    lift over the base rate, and the cumulative capture (share of all positives found so far)."""
    n, total = len(labels), sum(1 for y in labels if y)
    base = total / n if n else 0.0
    bounds = [(g * n) // groups for g in range(groups + 1)]
    rows, found = [], 0.0
    for g, positives in enumerate(_grouped_positives(labels, scores, groups)):
        size = bounds[g + 1] - bounds[g]
        found += positives
        rate = positives / size if size else 0.0
        rows.append(
            {
                "group": g + 1,
                "leads": size,
                "positives": positives,
                "rate": rate,
                "lift": rate / base if base else 0.0,
                "capture": found / total if total else 0.0,
            }
        )
    return rows


def capture_curve(
    labels: Sequence[int], probabilities: Sequence[float], points: int = 100
) -> list[dict[str, float]]:
    """For each top share of leads (1 %, 2 %, ... 100 %): the probability threshold that
    admits that share, and the capture and precision there (what thresholds are chosen
    from)."""
    ordered = sorted(zip(probabilities, labels, strict=True), key=lambda pair: -pair[0])
    total = sum(1 for y in labels if y)
    cumulative, hits = [], 0
    for _, y in ordered:
        hits += y
        cumulative.append(hits)
    curve = []
    for q in range(1, points + 1):
        k = max(1, math.ceil(q * len(ordered) / points))
        curve.append(
            {
                "share": q / points,
                "threshold": ordered[k - 1][0],
                "capture": cumulative[k - 1] / total if total else 0.0,
                "precision": cumulative[k - 1] / k,
            }
        )
    return curve


def describe(
    labels: Sequence[int], scores: Sequence[float], *, probabilistic: bool
) -> dict[str, Any]:
    """Every metric that applies: AUC and lift always; log loss, Brier score and the
    calibration table for probabilities."""
    report: dict[str, Any] = {"auc": roc_auc(labels, scores), "lift": lift_table(labels, scores)}
    if probabilistic:
        report["log_loss"] = log_loss(labels, scores)
        report["brier"] = brier_score(labels, scores)
        report["calibration"] = calibration_table(labels, scores)
    return report
