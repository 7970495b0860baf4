"""Funnels, computed the slow, obvious way: the reference every engine must equal.

It reads each lead's raw stage history and touchpoints (not the milestone table the engines
use), so an engine that agrees with it on random histories is right by construction, not by
sharing code.

Semantics (docs/concepts/funnels.md has worked examples):

* A lead's **time at a step** is its first entry into that step's stage or into any later
  stage of the path ``lead > mql > sql > opportunity > won`` (a skipped stage is reached when
  a later one is). These times never decrease along the steps.
* **ordered** (and **any**, identical for lifecycle steps): a lead counts at step k if it
  counts at step k-1, has a time at step k, that time is within ``window_days`` of its time
  at step 1, and within ``step_windows[k-1]`` of its time at step k-1.
* **strict**: the lead's history has the steps' stages as consecutive stage changes (no
  other stage in between, no skips), at some point; windows apply from that occurrence.
* **open** at step k: counted at k, not at k+1, its current stage is on the path between
  step k's stage and step k+1's (not nurture, lost or disqualified), and its windows have
  not yet run out at ``now``. **dropped** = counted - converted - open.
* **cohort**: the period (day, week starting Monday, month, quarter) of the lead's creation,
  or with ``cohort_by=entered`` of its time at step 1.
* **filters**: only leads whose value of each filtered dimension (read as the breakdown reads
  it: the attribution's touch, ``(none)`` when empty, custom fields as JSON text) is one of
  the filter's values; values of one dimension are alternatives, dimensions must all match.
  Filters pick the leads before anything is counted, like the creation range and owners.
* **breakdown**: the lead's value of the dimension (``(none)`` when empty); for ``custom.NAME``
  the custom field's value as JSON text (strings as they are, ``true``/``false``, numbers as
  written; a field the lead lacks is ``(none)``); with ``top_n``, groups beyond the n largest
  at step 1 are merged into ``other``.

Event funnels (steps over touchpoint kinds and stages, ``analytics/funnel_events.py``), the
Amplitude/Mixpanel way, first attempt only:

* time at step 1: the lead's first occurrence of step 1's event; at step k: its first
  occurrence of step k's event at or after its time at step k-1 (strictly after when step k
  repeats step k-1's event). Counting and windows then are the ordered funnel's.
* **exclusion**: a lead counted at step k-1 does not count at step k (nor later) if it did an
  excluded event strictly between its times at steps k-1 and k.
* **open** at step k: as above, with the current stage in ``spec.open_stages(k)`` and no
  excluded event after its time at step k (an exclusion is final: the lead is dropped).

* **strict** (event funnels): as ordered, and a lead counts at step k only if it did no
  other event at all (no touchpoint of any kind, no stage change) strictly between its times
  at steps k-1 and k. The first attempt decides, as above; an event strictly after its time at
  step k ends its chance, so it is not **open** there.
* **any** (event funnels): a step's time is the lead's first occurrence of its event, in any
  order; the lead counts at step k if it counts at step k-1, did step k, and the span of its
  times at steps 1..k (earliest to latest) fits ``window_days``, with no excluded event
  strictly inside that span. Its **time at step k** (for time to convert, drill-down) is the
  latest of those times: when it had done steps 1..k. **open** at step k: not done step k+1 at
  all, within ``window_days`` of the earliest time, no excluded event after it. Repeated steps
  and per-step windows need an order and are refused.

An event funnel over path stages only, ordered, without exclusions, equals the lifecycle funnel.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from leadfunnel.analytics.funnel_events import EventSource, FunnelEvent
from leadfunnel.analytics.funnel_spec import (
    CohortBasis,
    CohortPeriod,
    FunnelMode,
    FunnelSpec,
    custom_field_key,
)
from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = [
    "NONE_GROUP",
    "OTHER_GROUP",
    "FunnelResult",
    "FunnelRow",
    "LeadHistory",
    "cohort_start",
    "custom_text",
    "is_open",
    "lead_cohort",
    "lead_group",
    "lead_step_times",
    "lead_value",
    "merge_top_n",
    "oracle_funnel",
    "rows_from_counts",
]

_PATH = [s.value for s in FUNNEL_PATH]
NONE_GROUP = "(none)"
OTHER_GROUP = "other"


@dataclass(frozen=True)
class LeadHistory:
    """One lead as the oracle sees it: stage changes in order, where it is now, its dimensions
    (``dims["custom_fields"]``: its custom fields) and its touchpoints as (kind, time)."""

    created_at: datetime
    current_stage: str
    transitions: tuple[tuple[str, datetime], ...]
    dims: Mapping[str, Any] = field(default_factory=dict)
    touches: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True)
class FunnelRow:
    group: str | None
    cohort: date | None
    step: int
    stage: str
    reached: int
    converted: int
    open: int
    dropped: int


_RESULT_COLUMNS = (
    "group", "cohort", "step", "stage", "reached", "converted", "open", "dropped",
    "conversion_from_previous", "conversion_from_first", "drop_rate",
)  # fmt: skip


@dataclass(frozen=True)
class FunnelResult:
    """Rows per (group, cohort, step), ordered by group, cohort and step."""

    spec: FunnelSpec
    rows: tuple[FunnelRow, ...]

    def to_dict(self) -> dict[str, Any]:
        firsts: dict[tuple[str | None, date | None], int] = {}
        out = []
        previous = 0
        for row in self.rows:
            key = (row.group, row.cohort)
            if row.step == 0:
                firsts[key] = row.reached
                previous = row.reached
            first = firsts.get(key, 0)
            out.append({
                **row.__dict__,
                "cohort": row.cohort.isoformat() if row.cohort else None,
                "conversion_from_previous": (row.reached / previous if previous else None) if row.step else None,
                "conversion_from_first": row.reached / first if first else None,
                "drop_rate": row.dropped / row.reached if row.reached and row.step < len(self.spec.steps) - 1 else None,
            })  # fmt: skip
            previous = row.reached
        return {"steps": list(self.spec.steps), "rows": out}

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (pandas is imported only when asked for)."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()["rows"], columns=list(_RESULT_COLUMNS))

    def to_polars(self) -> Any:
        """The rows as a polars DataFrame (polars is imported only when asked for)."""
        import polars as pl

        return pl.DataFrame(self.to_dict()["rows"], schema=list(_RESULT_COLUMNS))


def cohort_start(moment: datetime, period: CohortPeriod) -> date:
    day = moment.date()
    if period is CohortPeriod.DAY:
        return day
    if period is CohortPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if period is CohortPeriod.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _step_times(lead: LeadHistory, steps: Sequence[str]) -> list[datetime | None]:
    first: dict[str, datetime] = {}
    for stage, at in lead.transitions:
        if stage not in first or at < first[stage]:
            first[stage] = at
    times = []
    for step in steps:
        later = [first[s] for s in _PATH[_PATH.index(step) :] if s in first]
        times.append(min(later) if later else None)
    return times


def _strict_times(lead: LeadHistory, steps: Sequence[str]) -> list[datetime | None]:
    """Times of the longest run of consecutive stage changes spelling out the steps."""
    stages = [s for s, _ in lead.transitions]
    best: list[datetime | None] = [None] * len(steps)
    for i, stage in enumerate(stages):
        if stage != steps[0]:
            continue
        run = [lead.transitions[i][1]]
        while (
            len(run) < len(steps)
            and i + len(run) < len(stages)
            and stages[i + len(run)] == steps[len(run)]
        ):
            run.append(lead.transitions[i + len(run)][1])
        if len(run) > sum(t is not None for t in best):
            best = run + [None] * (len(steps) - len(run))
    return best


def _counted(times: list[datetime | None], spec: FunnelSpec) -> list[bool]:
    counted: list[bool] = []
    days = timedelta(days=1)
    for k, at in enumerate(times):
        ok = at is not None and (k == 0 or counted[k - 1])
        if ok and k and spec.window_days is not None:
            ok = at - times[0] <= spec.window_days * days  # type: ignore[operator]
        if ok and k and spec.step_windows and spec.step_windows[k - 1] is not None:
            ok = at - times[k - 1] <= spec.step_windows[k - 1] * days  # type: ignore[operator]
        counted.append(ok)
    return counted


def _occurrences(lead: LeadHistory, event: FunnelEvent) -> list[datetime]:
    if event.source is EventSource.TOUCH:
        return [at for kind, at in lead.touches if kind == event.name]
    return [at for stage, at in lead.transitions if stage in event.occurrence_stages]


def _event_times(lead: LeadHistory, events: Sequence[FunnelEvent]) -> list[datetime | None]:
    times: list[datetime | None] = []
    for k, event in enumerate(events):
        previous = times[-1] if k else None
        if k and previous is None:
            times.append(None)
            continue
        repeats = k > 0 and events[k - 1] == event  # a repeated step needs a later occurrence
        times.append(
            min(
                (
                    at
                    for at in _occurrences(lead, event)
                    if previous is None or (at > previous if repeats else at >= previous)
                ),
                default=None,
            )
        )
    return times


def _excluded(
    lead: LeadHistory, spec: FunnelSpec, after: datetime, before: datetime | None
) -> bool:
    """Whether the lead did an excluded event strictly between ``after`` and ``before``."""
    return any(
        after < at and (before is None or at < before)
        for event in spec.exclusions
        for at in _occurrences(lead, event)
    )


def _any_event(lead: LeadHistory, after: datetime, before: datetime | None) -> bool:
    """Whether the lead did any event (touchpoint or stage change) strictly between."""
    moments = [at for _, at in lead.touches] + [at for _, at in lead.transitions]
    return any(after < at and (before is None or at < before) for at in moments)


def _event_counted(lead: LeadHistory, spec: FunnelSpec, times: list[datetime | None]) -> list[bool]:
    counted = _counted(times, spec)
    strict = spec.mode is FunnelMode.STRICT
    for k in range(1, len(counted)):
        if counted[k] and (
            _excluded(lead, spec, times[k - 1], times[k])  # type: ignore[arg-type]
            or (strict and _any_event(lead, times[k - 1], times[k]))  # type: ignore[arg-type]
        ):
            return counted[:k] + [False] * (len(counted) - k)
    return counted


def _first_times(lead: LeadHistory, events: Sequence[FunnelEvent]) -> list[datetime | None]:
    """Any order: each step's first occurrence, wherever it lies."""
    return [min(_occurrences(lead, event), default=None) for event in events]


def _any_counted(lead: LeadHistory, spec: FunnelSpec, raw: list[datetime | None]) -> list[bool]:
    counted: list[bool] = []
    for k, at in enumerate(raw):
        ok = at is not None and (k == 0 or counted[k - 1])
        if ok and k:
            low, high = min(raw[: k + 1]), max(raw[: k + 1])  # type: ignore[type-var]
            if spec.window_days is not None:
                ok = high - low <= timedelta(days=spec.window_days)  # type: ignore[operator]
            ok = ok and not _excluded(lead, spec, low, high)  # type: ignore[arg-type]
        counted.append(ok)
    return counted


def _running_latest(raw: list[datetime | None], counted: list[bool]) -> list[datetime | None]:
    """Any order: the time at step k is when the lead had done steps 1..k."""
    return [max(raw[: k + 1]) if ok else None for k, ok in enumerate(counted)]  # type: ignore[type-var]


def is_open(
    lead: LeadHistory, spec: FunnelSpec, k: int, times: list[datetime | None], now: datetime
) -> bool:
    if lead.current_stage not in spec.open_stages(k):
        return False
    days = timedelta(days=1)
    if spec.events is not None and spec.mode is FunnelMode.ANY:
        raw = _first_times(lead, spec.events)
        low = min(raw[: k + 1])  # type: ignore[type-var]
        if raw[k + 1] is not None:  # did the next step, but too late or too early: final
            return False
        if spec.window_days is not None and now >= low + spec.window_days * days:  # type: ignore[operator]
            return False
        return not (spec.exclusions and _excluded(lead, spec, low, None))  # type: ignore[arg-type]
    strict = spec.events is not None and spec.mode is FunnelMode.STRICT
    if strict and _any_event(lead, times[k], None):  # type: ignore[arg-type]
        return False  # the next event was not step k+1: strict can no longer hold
    if spec.window_days is not None and now >= times[0] + spec.window_days * days:  # type: ignore[operator]
        return False
    window = spec.step_windows[k] if spec.step_windows else None
    if window is not None and now >= times[k] + window * days:  # type: ignore[operator]
        return False
    return not (spec.exclusions and _excluded(lead, spec, times[k], None))  # type: ignore[arg-type]


def custom_text(value: Any) -> str | None:
    """A custom field's value as text, as the engines read it from JSON: strings as they
    are, ``true``/``false``, numbers as written (``42``, ``1.5``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def lead_value(lead: LeadHistory, spec: FunnelSpec, dimension: str) -> str:
    """The lead's value of a dimension or ``custom.NAME``, as breakdowns group and filters
    match it: ``(none)`` when empty."""
    key = custom_field_key(dimension)
    if key is not None:
        value = custom_text((lead.dims.get("custom_fields") or {}).get(key))
    else:
        value = lead.dims.get(spec.column(dimension))  # type: ignore[arg-type]
    return NONE_GROUP if value in (None, "") else str(value)


def lead_group(lead: LeadHistory, spec: FunnelSpec) -> str | None:
    return None if spec.breakdown is None else lead_value(lead, spec, spec.breakdown)


def _kept(lead: LeadHistory, spec: FunnelSpec) -> bool:
    """Whether the lead is in the question's population: created in range, owned by one of
    ``owners``, matching every filter."""
    created = lead.created_at.date()
    if (spec.created_from and created < spec.created_from) or (
        spec.created_to and created > spec.created_to
    ):
        return False
    if spec.owners is not None and str(lead.dims.get("owner_id")) not in spec.owners:
        return False
    return all(lead_value(lead, spec, name) in values for name, values in spec.filters)


def lead_cohort(lead: LeadHistory, spec: FunnelSpec, times: list[datetime | None]) -> date | None:
    """The start of the lead's cohort period: of its creation, or of its time at step 1."""
    if spec.cohort is None:
        return None
    entered = spec.cohort_by is CohortBasis.ENTERED
    return cohort_start(times[0] if entered else lead.created_at, spec.cohort)  # type: ignore[arg-type]


def lead_step_times(
    lead: LeadHistory, spec: FunnelSpec
) -> tuple[list[datetime | None], list[bool]] | None:
    """A lead's time at each step and whether it counts there; None when the lead is
    outside the spec's population (creation range, owners, filters) or never reaches the
    first step."""
    if not _kept(lead, spec):
        return None
    if spec.events is not None and spec.mode is FunnelMode.ANY:
        raw = _first_times(lead, spec.events)
        counted = _any_counted(lead, spec, raw)
        times = _running_latest(raw, counted)
    elif spec.events is not None:
        times = _event_times(lead, spec.events)
        counted = _event_counted(lead, spec, times)
    else:
        times = (
            _strict_times(lead, spec.steps)
            if spec.mode is FunnelMode.STRICT
            else _step_times(lead, spec.steps)
        )
        counted = _counted(times, spec)
    return (times, counted) if counted[0] else None


def oracle_funnel(leads: Iterable[LeadHistory], spec: FunnelSpec, *, now: datetime) -> FunnelResult:
    n = len(spec.steps)
    counts: dict[tuple[str | None, date | None], list[list[int]]] = defaultdict(
        lambda: [[0, 0] for _ in range(n)]
    )
    for lead in leads:
        measured = lead_step_times(lead, spec)
        if measured is None:
            continue
        times, counted = measured
        cell = counts[(lead_group(lead, spec), lead_cohort(lead, spec, times))]
        for k in range(n):
            if counted[k]:
                cell[k][0] += 1
            if (
                k < n - 1
                and counted[k]
                and not counted[k + 1]
                and is_open(lead, spec, k, times, now)
            ):
                cell[k][1] += 1
    return FunnelResult(spec, tuple(rows_from_counts(merge_top_n(counts, spec), spec)))


def merge_top_n(
    counts: dict[tuple[str | None, date | None], list[list[int]]], spec: FunnelSpec
) -> dict[tuple[str | None, date | None], list[list[int]]]:
    if spec.top_n is None or spec.breakdown is None:
        return counts
    size: dict[str | None, int] = defaultdict(int)
    for (group, _), cell in counts.items():
        size[group] += cell[0][0]
    keep = {g for g, _ in sorted(size.items(), key=lambda kv: (-kv[1], str(kv[0])))[: spec.top_n]}
    merged: dict[tuple[str | None, date | None], list[list[int]]] = defaultdict(
        lambda: [[0, 0] for _ in spec.steps]
    )
    for (group, cohort), cell in counts.items():
        target = merged[(group if group in keep else OTHER_GROUP, cohort)]
        for k, (reached, open_) in enumerate(cell):
            target[k][0] += reached
            target[k][1] += open_
    return merged


def rows_from_counts(
    counts: dict[tuple[str | None, date | None], list[list[int]]], spec: FunnelSpec
) -> list[FunnelRow]:
    rows = []
    n = len(spec.steps)
    for group, cohort in sorted(counts, key=lambda key: (str(key[0]), key[1] or date.min)):
        cell = counts[(group, cohort)]
        for k in range(n):
            reached, open_ = cell[k]
            converted = cell[k + 1][0] if k < n - 1 else 0
            dropped = reached - converted - open_ if k < n - 1 else 0
            rows.append(
                FunnelRow(group, cohort, k, spec.steps[k], reached, converted, open_, dropped)
            )
    return rows
