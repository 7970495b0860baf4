"""Stagnation: open leads stuck in their current stage longer than a threshold.

A lead is **open** when its current stage is one it can still move on from towards a sale
(lead, mql, sql, opportunity, nurture). Its time in the stage is ``now`` minus its last stage
change. It is **stagnant** when that time exceeds the stage's threshold (one for every stage,
or one per stage: ``mql=14d,sql=30d``; stages without one are not checked).

Per stage: how many leads are open in it, how many are stagnant, and the longest stay in
days. Worked example with threshold 30 days at day 100: A entered mql on day 60 (40 days:
stagnant), B entered mql on day 90 (10 days: not), C is won (closed: not counted). mql: open
2, stagnant 1, longest 40 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.funnel_spec import parse_window
from leadfunnel.domain.errors import ValidationError

__all__ = ["OPEN_STAGES", "StagnationRow", "StagnationSpec", "oracle_stagnation", "stagnation_spec"]

OPEN_STAGES = ("lead", "mql", "sql", "opportunity", "nurture")
_DAY = 86_400.0


@dataclass(frozen=True)
class StagnationSpec:
    thresholds: Mapping[str, float]  # stage -> days


@dataclass(frozen=True)
class StagnationRow:
    stage: str
    open: int
    stagnant: int
    threshold_days: float
    longest_days: float | None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _days(text: str) -> float:
    days = parse_window(text.strip(), field="threshold")
    assert days is not None  # text is never None here
    return days


def stagnation_spec(text: str) -> StagnationSpec:
    """``30d`` (every open stage) or ``mql=14d,sql=30d`` (those stages)."""
    if not text or not text.strip():
        raise ValidationError(
            "threshold", "give a threshold such as 30d, or per stage: mql=14d,sql=30d"
        )
    thresholds: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        stage, sep, window = part.partition("=")
        if not sep:
            days = _days(part)
            thresholds.update({s: days for s in OPEN_STAGES})
            continue
        stage = stage.strip().lower()
        if stage not in OPEN_STAGES:
            valid = ", ".join(OPEN_STAGES)
            raise ValidationError(
                "threshold", f"'{stage}' is not an open stage; expected one of: {valid}"
            )
        thresholds[stage] = _days(window)
    return StagnationSpec({s: thresholds[s] for s in OPEN_STAGES if s in thresholds})


def oracle_stagnation(
    leads: Iterable[LeadHistory], spec: StagnationSpec, *, now: datetime
) -> list[StagnationRow]:
    open_count = dict.fromkeys(spec.thresholds, 0)
    stuck = dict.fromkeys(spec.thresholds, 0)
    longest: dict[str, float | None] = dict.fromkeys(spec.thresholds)
    for lead in leads:
        stage = lead.current_stage
        if stage not in spec.thresholds or not lead.transitions:
            continue
        days = (now - max(at for _, at in lead.transitions)).total_seconds() / _DAY
        open_count[stage] += 1
        stuck[stage] += days > spec.thresholds[stage]
        current = longest[stage]
        longest[stage] = days if current is None or days > current else current
    return [
        StagnationRow(s, open_count[s], stuck[s], spec.thresholds[s], longest[s])
        for s in spec.thresholds
    ]
