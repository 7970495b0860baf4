"""Time in stage and time to convert as Ibis aggregations (semantics: ``analytics/durations.py``)."""

from __future__ import annotations

import itertools
from typing import Any

import ibis
from ibis.expr.types import BooleanValue, Table

from leadfunnel.adapters.warehouse.funnel_builder import breakdown_group, step_times
from leadfunnel.analytics.durations import BUCKETS, DurationStats
from leadfunnel.analytics.funnel_spec import FunnelSpec

__all__ = [
    "stage_time_stats",
    "stagnation_counts",
    "stays",
    "step_time_stats",
    "step_time_stats_by",
    "to_stats",
]

_DAY = 86_400


def _days(later: Any, earlier: Any) -> Any:
    # Microseconds apart, not epoch seconds: Spark's epoch seconds drop the fraction.
    return later.delta(earlier, unit="microsecond").cast("float64") / (_DAY * 1e6)


def _stats(days: Any, where: BooleanValue | None = None) -> dict[str, Any]:
    """Count, mean, median, p90 and histogram of ``days`` where ``where`` holds (None: where
    ``days`` is not NULL, without repeating a test the engines do not share between the
    aggregates)."""
    value = days if where is None else ibis.ifelse(where, days, ibis.null("float64"))
    bounds = (0.0, *BUCKETS, None)
    # ``COUNT(CASE WHEN ... THEN 1 END)``, not ``COUNT(...) FILTER (WHERE ...)``: DuckDB
    # evaluates six filter clauses three times slower than six CASEs (time in stage, 1M
    # leads: 0.19 s against 0.11 s for the whole question).
    buckets = {
        f"h{i}": ibis.cases(
            ((value >= low) & (value < high) if high is not None else value >= low, 1)
        ).count()
        for i, (low, high) in enumerate(itertools.pairwise(bounds))
    }
    # Both quantiles in one aggregate: one sort of the values instead of two (half the time
    # of the time-in-stage question on DuckDB).
    return {"count": value.count(), "mean_days": value.mean(), "quantiles": value.quantile([0.5, 0.9]),
            **buckets}  # fmt: skip


def stays(transitions: Table) -> Table:
    """One row per stay in a stage: ``lead_id``, ``stage``, ``days`` (NULL while it lasts)."""
    order = ibis.window(group_by=transitions.lead_id, order_by=[transitions.at, transitions.id])
    t = transitions.mutate(left_at=transitions.at.lead().over(order))
    return t.select(lead_id=t.lead_id, stage=t.to_stage, days=_days(t.left_at, t.at))


def stage_time_stats(stay_table: Table) -> Table:
    """One row per stage: finished stays' statistics and the number of open stays."""
    s = stay_table
    return s.group_by("stage").aggregate(
        **_stats(s.days), open=s.stage.count(where=s.days.isnull())
    )


def step_time_stats(
    milestones: Table, transitions: Table, spec: FunnelSpec, touchpoints: Table | None = None
) -> Table:
    """One row per consecutive step pair ``k`` (0-based): time to convert from step k to k+1."""
    table, times, counted = step_times(milestones, transitions, spec, touchpoints)
    parts = [
        table.aggregate(k=ibis.literal(k), **_stats(_days(times[k + 1], times[k]), counted[k + 1]))
        for k in range(len(spec.steps) - 1)
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def step_time_stats_by(
    milestones: Table, transitions: Table, spec: FunnelSpec, touchpoints: Table | None = None
) -> Table:
    """As :func:`step_time_stats`, one row per breakdown value ``grp`` and step pair ``k``,
    for the groups with a lead at step 1."""
    table, times, counted = step_times(milestones, transitions, spec, touchpoints)
    pairs = range(len(spec.steps) - 1)
    flags = table.mutate(
        grp=breakdown_group(table, spec, times),
        c0=counted[0],
        **{f"gap{k}": _days(times[k + 1], times[k]) for k in pairs},
        **{f"ok{k}": counted[k + 1] for k in pairs},
    )
    flags = flags.filter(flags.c0)
    parts = [
        flags.group_by("grp").aggregate(
            k=ibis.literal(k), **_stats(flags[f"gap{k}"], flags[f"ok{k}"])
        )
        for k in pairs
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def to_stats(record: dict[str, Any], open_count: int = 0) -> DurationStats:
    """A row of the aggregations above, by column name."""

    def number(value: Any) -> float | None:
        return None if value is None or value != value else float(value)

    median, p90 = record["quantiles"] or (None, None)
    return DurationStats(
        int(record["count"]), number(record["mean_days"]), number(median), number(p90),
        tuple(int(record[f"h{i}"]) for i in range(len(BUCKETS) + 1)), open_count,
    )  # fmt: skip


def stagnation_counts(
    milestones: Table, transitions: Table, thresholds: dict[str, float], now: Any
) -> Table:
    """Per open stage with a threshold: open leads, stagnant ones (time since their last
    stage change above the stage's threshold, in days) and the longest stay
    (semantics: ``analytics/stagnation.py``)."""
    last = transitions.group_by(lead_id=transitions.lead_id).aggregate(entered=transitions.at.max())
    joined = milestones.inner_join(last, milestones.lead_id == last.lead_id)
    days = _days(ibis.literal(now), joined.entered)
    limit = ibis.cases(*((joined.current_stage == stage, ibis.literal(d)) for stage, d in thresholds.items()),
                       else_=ibis.null("float64"))  # fmt: skip
    table = joined.filter(joined.current_stage.isin(list(thresholds))).mutate(
        days=days, threshold=limit
    )
    return table.group_by(stage=table.current_stage).aggregate(
        open=table.count(),
        stagnant=table.count(where=table.days > table.threshold),
        longest_days=table.days.max(),
    )
