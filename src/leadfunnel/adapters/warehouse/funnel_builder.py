"""Lifecycle funnels as Ibis expressions: one builder per semantics, named output columns.

Both builders return one row per (``grp``, ``cohort``) with ``reached_{k}`` and ``open_{k}``
columns; the semantics are the oracle's (``analytics/funnel_oracle.py``), re-derived here
from the milestone table (ordered, any) or from the raw stage changes (strict).

Query intuition, ordered: a lead's time at step k is ``LEAST`` of its first entries into
step k's stage and every later path stage (NULLs ignored), so the times never decrease and
"in order" holds by construction; the windows are comparisons between those times; each
step's count is a filtered sum. One scan of the milestone table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
from ibis.expr.types import BooleanValue, Table

from leadfunnel.adapters.warehouse.milestones import reach_column
from leadfunnel.analytics.drill import DrillSpec, Outcome
from leadfunnel.analytics.funnel_oracle import NONE_GROUP
from leadfunnel.analytics.funnel_spec import CohortPeriod, FunnelMode, FunnelSpec
from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = ["build_drill", "build_funnel", "open_column", "reached_column", "step_times"]

_PATH = [s.value for s in FUNNEL_PATH]
_TRUNCATE = {
    CohortPeriod.DAY: "D",
    CohortPeriod.WEEK: "W",
    CohortPeriod.MONTH: "M",
    CohortPeriod.QUARTER: "Q",
}


def reached_column(k: int) -> str:
    return f"reached_{k}"


def open_column(k: int) -> str:
    return f"open_{k}"


def _seconds(days: float) -> Any:
    return ibis.interval(seconds=round(days * 86_400))


def _counted(times: list[Any], spec: FunnelSpec) -> list[BooleanValue]:
    """Whether a lead counts at each step.

    Ordered times never decrease, so without per-step windows "counted at k" is simply
    "has a time at k, within the window of step 1": it implies every earlier step. Per-step
    windows (and strict runs, whose later times may be missing) need the chain.
    """
    chained = spec.mode is FunnelMode.STRICT or bool(spec.step_windows)
    counted: list[BooleanValue] = []
    for k, at in enumerate(times):
        ok = at.notnull() if k == 0 or not chained else counted[k - 1] & at.notnull()
        if k and spec.window_days is not None:
            ok = ok & (at <= times[0] + _seconds(spec.window_days))
        if k and spec.step_windows and spec.step_windows[k - 1] is not None:
            ok = ok & (at <= times[k - 1] + _seconds(spec.step_windows[k - 1]))  # type: ignore[arg-type]
        counted.append(ok.fill_null(False))
    return counted


def _open(
    m: Table, spec: FunnelSpec, k: int, times: list[Any], counted: list[BooleanValue], now: datetime
) -> BooleanValue:
    between = _PATH[_PATH.index(spec.steps[k]) : _PATH.index(spec.steps[k + 1])]
    ok = counted[k] & ~counted[k + 1] & m.current_stage.isin(between)
    if spec.window_days is not None:
        ok = ok & (ibis.literal(now) < times[0] + _seconds(spec.window_days))
    if spec.step_windows and spec.step_windows[k] is not None:
        ok = ok & (ibis.literal(now) < times[k] + _seconds(spec.step_windows[k]))  # type: ignore[arg-type]
    return ok.fill_null(False)


def _filtered(m: Table, spec: FunnelSpec) -> Table:
    if spec.created_from is not None:
        m = m.filter(m.created_at.date() >= spec.created_from)
    if spec.created_to is not None:
        m = m.filter(m.created_at.date() <= spec.created_to)
    return m


def _group_and_cohort(m: Table, spec: FunnelSpec) -> tuple[Any, Any]:
    column = spec.breakdown_column
    group = ibis.null(str) if column is None else m[column].nullif("").fill_null(NONE_GROUP)
    cohort = (
        ibis.null("date")
        if spec.cohort is None
        else m.created_at.truncate(_TRUNCATE[spec.cohort]).date()
    )
    return group, cohort


def _aggregate(m: Table, spec: FunnelSpec, times: list[Any], now: datetime) -> Table:
    counted = _counted(times, spec)  # expressions, not data: cheap to rebuild
    n = len(spec.steps)
    group, cohort = _group_and_cohort(m, spec)
    flags = m.mutate(
        grp=group,
        cohort=cohort,
        **{f"c{k}": counted[k] for k in range(n)},
        **{f"o{k}": _open(m, spec, k, times, counted, now) for k in range(n - 1)},
    )
    flags = flags.filter(flags.c0)
    # Filtered counts (COUNT ... FILTER / CASE), not sums of booleans: PostgreSQL cannot
    # cast a boolean to a number.
    return flags.group_by(["grp", "cohort"]).aggregate(
        **{reached_column(k): flags.c0.count(where=flags[f"c{k}"]) for k in range(n)},
        **{open_column(k): flags.c0.count(where=flags[f"o{k}"]) for k in range(n - 1)},
    )


def _ordered_times(m: Table, spec: FunnelSpec) -> tuple[Table, list[Any]]:
    return m, [m[reach_column(step)] for step in spec.steps]


def _strict_times(m: Table, transitions: Table, spec: FunnelSpec) -> tuple[Table, list[Any]]:
    """Per lead, the longest run of consecutive stage changes spelling the steps (earliest on
    ties), then the same windows and counts as the ordered builder."""
    n = len(spec.steps)
    order = ibis.window(group_by=transitions.lead_id, order_by=[transitions.at, transitions.id])
    t = transitions.mutate(
        **{f"s{j}": transitions.to_stage.lead(j).over(order) for j in range(1, n)},
        **{f"t{j}": transitions.at.lead(j).over(order) for j in range(1, n)},
    ).filter(lambda x: x.to_stage == spec.steps[0])
    run: Any = ibis.literal(1)
    matched: Any = ibis.literal(True)
    for j in range(1, n):
        matched = matched & (t[f"s{j}"] == spec.steps[j]).fill_null(False)
        run = run + ibis.cases((matched, 1), else_=0)
    t = t.mutate(run=run)
    best = ibis.window(group_by=t.lead_id, order_by=[ibis.desc(t.run), t.at, t.id])
    t = t.mutate(rank=ibis.row_number().over(best)).filter(lambda x: x["rank"] == 0)
    joined = m.inner_join(t, m.lead_id == t.lead_id)
    times = [joined.at] + [
        (joined.run > j).ifelse(joined[f"t{j}"], ibis.null("timestamp")) for j in range(1, n)
    ]
    return joined, times


def step_times(
    milestones: Table, transitions: Table, spec: FunnelSpec
) -> tuple[Table, list[Any], list[BooleanValue]]:
    """The table, each lead's time at each step, and whether it counts there (the funnel's
    own expressions, shared with time-to-convert)."""
    m = _filtered(milestones, spec)
    table, times = (
        _strict_times(m, transitions, spec)
        if spec.mode is FunnelMode.STRICT
        else _ordered_times(m, spec)
    )
    return table, times, _counted(times, spec)


def build_funnel(
    milestones: Table, transitions: Table, spec: FunnelSpec, *, now: datetime
) -> Table:
    """The funnel's counts per (group, cohort) for ``spec``, as of ``now``."""
    table, times, _ = step_times(milestones, transitions, spec)
    return _aggregate(table, spec, times, now)


def build_drill(milestones: Table, transitions: Table, cell: DrillSpec, *, now: datetime) -> Table:
    """``lead_id`` and ``at`` (time at the step) of the leads in one funnel cell, ordered."""
    spec, k = cell.funnel, cell.step
    table, times, counted = step_times(milestones, transitions, spec)
    keep = counted[k]
    if cell.outcome is not Outcome.REACHED:
        is_open = _open(table, spec, k, times, counted, now)
        keep = (
            keep
            & {
                Outcome.CONVERTED: counted[k + 1],
                Outcome.OPEN: is_open,
                Outcome.DROPPED: ~counted[k + 1] & ~is_open,
            }[cell.outcome]
        )
    group, cohort = _group_and_cohort(table, spec)
    if cell.group is not None:
        keep = keep & (group == cell.group)
    if cell.cohort is not None:
        keep = keep & (cohort == cell.cohort)
    # Text ids on every backend (Arrow has no UUID type); dashed or not, they sort alike.
    picked = table.select(lead_id=table.lead_id.cast("string"), at=times[k], keep=keep)
    return picked.filter(picked.keep).select("lead_id", "at").order_by(["at", "lead_id"])
