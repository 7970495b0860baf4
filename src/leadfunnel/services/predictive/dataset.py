"""Labelled examples and the time-based split.

**Split.** Labelled leads are ordered by creation. The newest ``validation_fraction`` of them
validate: the cutoff is the creation time of the first of those. A lead trains only if its
whole outcome window closed before the cutoff (``created_at + horizon <= cutoff``): so the
training labels were all known before the first validation lead arrived, as they would have
been had the model been trained on that day. Leads created in the last horizon before the
cutoff fall in the *gap* and are used for neither.

Example: horizon 30 days, 20 labelled leads created on days 0, 10, ..., 190, fraction 0.2.
The 4 newest (days 160-190) validate, so the cutoff is day 160; the leads of days 0-130
train (130 + 30 <= 160); those of days 140 and 150 are in the gap (150 + 30 > 160).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.predictive.features import observe
from leadfunnel.services.predictive.history import LeadHistory, outcome, scoring_moment
from leadfunnel.services.predictive.spec import TrainingSpec

__all__ = ["MIN_TRAIN_CLASS", "MIN_VALIDATION_CLASS", "Example", "Split", "label", "split_by_time"]

#: Fewest positives (and negatives) to train on, and to validate on.
MIN_TRAIN_CLASS = 10
MIN_VALIDATION_CLASS = 5


@dataclass(frozen=True)
class Example:
    history: LeadHistory
    raw: dict[str, Any]
    label: int


@dataclass(frozen=True)
class Split:
    cutoff: datetime
    train: list[Example]
    validation: list[Example]
    #: leads, positive, negative, open, decided, train, validation, gap
    counts: dict[str, int]


def label(
    histories: Sequence[LeadHistory], spec: TrainingSpec, *, now: datetime
) -> tuple[list[Example], Counter[str]]:
    """The labelled leads with their features as of their scoring moment, oldest first, and
    how many leads got each label."""
    examples, counts = [], Counter({"leads": len(histories)})
    for history in histories:
        found = outcome(
            history,
            target=spec.target,
            horizon_days=spec.horizon_days,
            observe_days=spec.observe_days,
            now=now,
        )
        counts[found.label] += 1
        if found.label in ("positive", "negative"):
            raw = observe(history, spec, scoring_moment(history, spec.observe_days))
            examples.append(Example(history, raw, int(found.label == "positive")))
    examples.sort(key=lambda e: (e.history.created_at, e.history.id))
    return examples, counts


def split_by_time(
    examples: Sequence[Example],
    spec: TrainingSpec,
    counts: Counter[str],
    *,
    cutoff: datetime | None = None,
) -> Split:
    """Split oldest-first ``examples`` (see the module docstring); ``cutoff`` re-uses a
    model's own split. Raises when either side has too few positives or negatives."""
    if cutoff is None:
        if not examples:
            raise ValidationError("history", _too_few(spec, counts))
        n_validation = max(1, round(len(examples) * spec.validation_fraction))
        cutoff = examples[len(examples) - n_validation].history.created_at
    horizon = timedelta(days=spec.horizon_days)
    validation = [e for e in examples if e.history.created_at >= cutoff]
    train = [e for e in examples if e.history.created_at + horizon <= cutoff]
    all_counts = {
        "leads": counts["leads"],
        "positive": counts["positive"],
        "negative": counts["negative"],
        "open": counts["open"],
        "decided": counts["decided"],
        "train": len(train),
        "train_positive": sum(e.label for e in train),
        "validation": len(validation),
        "validation_positive": sum(e.label for e in validation),
        "gap": len(examples) - len(train) - len(validation),
    }
    for part, low in (("train", MIN_TRAIN_CLASS), ("validation", MIN_VALIDATION_CLASS)):
        positives = all_counts[f"{part}_positive"]
        if positives < low or all_counts[part] - positives < low:
            raise ValidationError(
                "history",
                f"the {part} split has {positives} leads that reached {spec.target} and "
                f"{all_counts[part] - positives} that did not; at least {low} of each are "
                f"needed ({_too_few(spec, counts)})",
            )
    return Split(cutoff, train, validation, all_counts)


def _too_few(spec: TrainingSpec, counts: Counter[str]) -> str:
    return (
        f"{counts['leads']} leads: {counts['positive']} reached {spec.target} within "
        f"{spec.horizon_days} days, {counts['negative']} did not, {counts['open']} still open, "
        f"{counts['decided']} decided before the scoring moment"
    )
