"""How long leads take: time in each stage, and time to convert between funnel steps.

* **Time in stage** is measured per stay: from entering a stage to the next stage change.
  A stay that has not ended (the lead is still there) has no duration yet; it is counted as
  ``open``, never as a short stay.
* **Time to convert** from step k to step k+1 is the difference of the lead's times at those
  steps (as in the funnel: first entry into the step's stage or a later one), for leads
  counted at both under the spec's windows and mode.

Statistics are in days: count, mean, median and 90th percentile (linear interpolation
between the nearest ranks, as ``percentile_cont`` in SQL), and a histogram over fixed
buckets: under 1 day, 1-7, 7-30, 30-90, 90-180 days, and 180 or more.

Worked example: stays of 1, 2, 3 and 10 days give mean 4, median 2.5 (halfway between 2 and
3), p90 7.9 (0.7 of the way from 3 to 10), histogram ``{<1: 0, 1-7: 3, 7-30: 1, ...}``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadfunnel.analytics.funnel_oracle import LeadHistory, lead_group, lead_step_times
from leadfunnel.analytics.funnel_spec import FunnelSpec

__all__ = [
    "BUCKETS",
    "DurationStats",
    "duration_stats",
    "oracle_stage_times",
    "oracle_step_times",
    "oracle_step_times_by",
    "percentile",
]

#: Histogram bucket upper bounds in days; the last bucket has none.
BUCKETS = (1.0, 7.0, 30.0, 90.0, 180.0)
_DAY = 86_400.0


@dataclass(frozen=True)
class DurationStats:
    count: int
    mean_days: float | None
    median_days: float | None
    p90_days: float | None
    histogram: tuple[int, ...]
    open: int = 0

    def to_dict(self) -> dict[str, object]:
        labels = ["<1d", "1-7d", "7-30d", "30-90d", "90-180d", ">=180d"]
        return {**self.__dict__, "histogram": dict(zip(labels, self.histogram, strict=True))}


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the nearest ranks (``percentile_cont``)."""
    if not sorted_values:
        return None
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def duration_stats(days: Iterable[float], *, open_count: int = 0) -> DurationStats:
    values = sorted(days)
    histogram = [0] * (len(BUCKETS) + 1)
    for value in values:
        histogram[next((i for i, upper in enumerate(BUCKETS) if value < upper), len(BUCKETS))] += 1
    mean = sum(values) / len(values) if values else None
    return DurationStats(
        len(values),
        mean,
        percentile(values, 0.5),
        percentile(values, 0.9),
        tuple(histogram),
        open_count,
    )


def oracle_stage_times(leads: Iterable[LeadHistory]) -> dict[str, DurationStats]:
    """Per stage: the durations of finished stays, and how many stays are still open."""
    stays: dict[str, list[float]] = defaultdict(list)
    still: dict[str, int] = defaultdict(int)
    for lead in leads:
        for (stage, at), (_, left) in zip(lead.transitions, lead.transitions[1:], strict=False):
            stays[stage].append((left - at).total_seconds() / _DAY)
        still[lead.transitions[-1][0]] += 1
    return {
        stage: duration_stats(stays.get(stage, []), open_count=still.get(stage, 0))
        for stage in sorted(set(stays) | set(still))
    }


def oracle_step_times_by(
    leads: Iterable[LeadHistory], spec: FunnelSpec
) -> dict[str, list[DurationStats]]:
    """:func:`oracle_step_times` per breakdown value (as the funnel groups leads, ``(none)``
    when empty), for the values with a lead at step 1."""
    groups: dict[str, list[LeadHistory]] = defaultdict(list)
    for lead in leads:
        if lead_step_times(lead, spec) is not None:
            groups[str(lead_group(lead, spec))].append(lead)
    return {group: oracle_step_times(members, spec) for group, members in sorted(groups.items())}


def oracle_step_times(leads: Iterable[LeadHistory], spec: FunnelSpec) -> list[DurationStats]:
    """For each pair of consecutive steps, the time to convert of leads counted at both."""
    gaps: list[list[float]] = [[] for _ in spec.steps[1:]]
    for lead in leads:
        measured = lead_step_times(lead, spec)
        if measured is None:
            continue
        times, counted = measured
        for k in range(len(spec.steps) - 1):
            if counted[k + 1]:
                gaps[k].append((times[k + 1] - times[k]).total_seconds() / _DAY)  # type: ignore[operator]
    return [duration_stats(g) for g in gaps]
