"""Event funnels as Ibis expressions: each lead's time at each step, from the raw events.

Steps are touchpoint kinds or stages (``analytics/funnel_events.py``); the semantics are the
oracle's (``analytics/funnel_oracle.py``). The funnel builder turns these times into counts
exactly as it does a lifecycle funnel's.

Query intuition: step 1's time is a ``MIN`` per lead over its occurrences of step 1's event;
step k's is a ``MIN`` over its occurrences at or after its time at step k-1: one join of
step k's occurrences with the leads that did step k-1, then a group-by. So each step reads
only its own events, never the whole log. Exclusions are one more join and group-by: per lead
and step, how many excluded events lie strictly between its times at step k and step k+1
(a lead not yet at step k+1: after step k).

Strict: one more join, of every event the lead did (touchpoints and stage changes), counting
per step those strictly between its times at steps k and k+1, and those after step k. Any
order: each step's time is the ``MIN`` over all its occurrences (no chain); the funnel builder
compares the span of those times (``earliest_time``/``latest_time``) with the window, and
exclusions are counted inside that span.
"""

from __future__ import annotations

from typing import Any

import ibis
from ibis.expr.types import Table

from leadfunnel.analytics.funnel_events import EventSource, FunnelEvent
from leadfunnel.analytics.funnel_spec import FunnelMode, FunnelSpec

__all__ = [
    "earliest_time",
    "event_times",
    "excluded_after_column",
    "excluded_between_column",
    "latest_time",
    "other_after_column",
    "other_between_column",
    "time_column",
]


def time_column(k: int) -> str:
    return f"t{k}"


def excluded_between_column(k: int) -> str:
    """Excluded events strictly between the lead's times at steps k and k+1 (after step k
    when it has no time at step k+1)."""
    return f"excluded_between_{k}"


def excluded_after_column(k: int) -> str:
    """Excluded events strictly after the lead's time at step k."""
    return f"excluded_after_{k}"


def other_between_column(k: int) -> str:
    """Strict: events of any kind strictly between the lead's times at steps k and k+1."""
    return f"other_between_{k}"


def other_after_column(k: int) -> str:
    """Strict: events of any kind strictly after the lead's time at step k."""
    return f"other_after_{k}"


def earliest_time(t: Table, k: int) -> Any:
    """Any order: the earliest of the lead's times at steps 0..k (``LEAST`` of one is the
    time itself: Spark refuses ``LEAST`` of one)."""
    columns = [t[time_column(j)] for j in range(k + 1)]
    return columns[0] if k == 0 else ibis.least(*columns)


def latest_time(t: Table, k: int) -> Any:
    """Any order: the latest of the lead's times at steps 0..k."""
    columns = [t[time_column(j)] for j in range(k + 1)]
    return columns[0] if k == 0 else ibis.greatest(*columns)


def _occurrences(event: FunnelEvent, transitions: Table, touchpoints: Table) -> Table:
    """``lead_id`` and ``at`` of every occurrence of ``event``."""
    if event.source is EventSource.TOUCH:
        t = touchpoints.filter(touchpoints.kind == event.name)
    else:
        t = transitions.filter(transitions.to_stage.isin(list(event.occurrence_stages)))
    return t.select(lead_id=t.lead_id, at=t.at)


def _exclusions(times: Table, spec: FunnelSpec, transitions: Table, touchpoints: Table) -> Table:
    parts = [_occurrences(e, transitions, touchpoints) for e in spec.exclusions]
    excluded = ibis.union(*parts) if len(parts) > 1 else parts[0]
    j = excluded.inner_join(times, "lead_id")
    counts = {}
    for k in range(len(spec.steps) - 1):
        if spec.mode is FunnelMode.ANY:
            # Inside the span of steps 0..k+1; open: after the earliest of steps 0..k.
            low, high = earliest_time(j, k + 1), latest_time(j, k + 1)
            counts[excluded_between_column(k)] = j.at.count(where=(j.at > low) & (j.at < high))
            counts[excluded_after_column(k)] = j.at.count(where=j.at > earliest_time(j, k))
            continue
        after = j.at > j[time_column(k)]
        before_next = j[time_column(k + 1)].isnull() | (j.at < j[time_column(k + 1)])
        counts[excluded_between_column(k)] = j.at.count(where=after & before_next)
        counts[excluded_after_column(k)] = j.at.count(where=after)
    flags = j.group_by("lead_id").aggregate(**counts)
    joined = times.left_join(flags, "lead_id").drop("lead_id_right")
    return joined.mutate(**{name: joined[name].fill_null(0) for name in counts})


def _others(times: Table, spec: FunnelSpec, transitions: Table, touchpoints: Table) -> Table:
    """Strict: per lead and step, the events of any kind between and after its step times."""
    every = ibis.union(
        touchpoints.select(lead_id=touchpoints.lead_id, at=touchpoints.at),
        transitions.select(lead_id=transitions.lead_id, at=transitions.at),
        distinct=False,
    )
    j = every.inner_join(times, "lead_id")
    counts = {}
    for k in range(len(spec.steps) - 1):
        after = j.at > j[time_column(k)]
        counts[other_between_column(k)] = j.at.count(where=after & (j.at < j[time_column(k + 1)]))
        counts[other_after_column(k)] = j.at.count(where=after)
    flags = j.group_by("lead_id").aggregate(**counts)
    joined = times.left_join(flags, "lead_id").drop("lead_id_right")
    return joined.mutate(**{name: joined[name].fill_null(0) for name in counts})


def _first_times(transitions: Table, touchpoints: Table, spec: FunnelSpec) -> Table:
    """Any order: per lead that did step 1, its first occurrence of every step."""
    events = spec.step_events
    times: Table | None = None
    for k, event in enumerate(events):
        occurrences = _occurrences(event, transitions, touchpoints)
        first = occurrences.group_by("lead_id").aggregate(**{time_column(k): occurrences.at.min()})
        times = first if times is None else times.left_join(first, "lead_id").drop("lead_id_right")
    assert times is not None
    return times


def event_times(transitions: Table, touchpoints: Table, spec: FunnelSpec) -> Table:
    """One row per lead that did step 1: ``lead_id``, ``t{k}`` per step (NULL where it did
    not get there) and, with exclusions, the ``excluded_*`` counts per step."""
    if spec.mode is FunnelMode.ANY:
        times = _first_times(transitions, touchpoints, spec)
        return _exclusions(times, spec, transitions, touchpoints) if spec.exclusions else times
    events = spec.step_events
    first = _occurrences(events[0], transitions, touchpoints)
    times = first.group_by("lead_id").aggregate(**{time_column(0): first.at.min()})
    reached = times
    for k in range(1, len(events)):
        occurrences = _occurrences(events[k], transitions, touchpoints)
        j = occurrences.inner_join(
            reached.select("lead_id", previous=reached[time_column(k - 1)]), "lead_id"
        )
        # A step that repeats the step before it needs a later occurrence.
        later = j.at > j.previous if events[k] == events[k - 1] else j.at >= j.previous
        j = j.filter(later)
        reached = j.group_by("lead_id").aggregate(**{time_column(k): j.at.min()})
        times = times.left_join(reached, "lead_id").drop("lead_id_right")
    if spec.exclusions:
        times = _exclusions(times, spec, transitions, touchpoints)
    if spec.mode is FunnelMode.STRICT and len(events) > 1:
        times = _others(times, spec, transitions, touchpoints)
    return times
