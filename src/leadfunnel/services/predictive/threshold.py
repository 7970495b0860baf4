"""An MQL threshold from sales capacity and the model's lift curve.

Sales can work ``reps x leads_per_rep_week`` leads a week. If more leads than that arrive,
only the most promising share should become MQLs: ``share = capacity / weekly leads``.
The model's validation capture curve says which probability admits that share of leads,
and what it buys: the share of eventual conversions among them (capture) and their
conversion rate (precision; lift = precision / base rate).

Example: 4 reps x 25 leads = 100 a week, 400 leads arrive a week: share 25 %. If on the
validation leads the top 25 % start at probability 0.41 and hold 62 % of the conversions,
the suggestion is "MQL when p >= 0.41": 100 leads a week, 62 % of conversions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from leadfunnel.domain.errors import ValidationError

__all__ = ["ThresholdSuggestion", "suggest"]


@dataclass(frozen=True)
class ThresholdSuggestion:
    capacity_per_week: float
    leads_per_week: float
    #: The share of leads that fits the capacity (the threshold admits up to it, in 1 % steps).
    share: float
    threshold: float
    capture: float
    precision: float
    lift: float
    conversions_per_week: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suggest(
    curve: Sequence[Mapping[str, float]], *, capacity_per_week: float, leads_per_week: float
) -> ThresholdSuggestion:
    """The lowest probability threshold whose share of leads fits the capacity."""
    if capacity_per_week <= 0:
        raise ValidationError("capacity", "reps and leads per rep must be positive")
    if leads_per_week <= 0:
        raise ValidationError("leads_per_week", "no leads arrive to threshold")
    if not curve:
        raise ValidationError("model", "has no validation curve to read a threshold from")
    share = min(1.0, capacity_per_week / leads_per_week)
    fitting = [p for p in curve if p["share"] <= share + 1e-9]
    point = fitting[-1] if fitting else curve[0]
    base = curve[-1]["precision"]
    admitted = point["share"] * leads_per_week
    return ThresholdSuggestion(
        capacity_per_week=capacity_per_week,
        leads_per_week=leads_per_week,
        share=share,
        threshold=point["threshold"],
        capture=point["capture"],
        precision=point["precision"],
        lift=point["precision"] / base if base else 0.0,
        conversions_per_week=point["precision"] * admitted,
    )
