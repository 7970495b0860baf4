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
"""

from __future__ import annotations

import ibis
from ibis.expr.types import Table

from leadfunnel.analytics.funnel_events import EventSource, FunnelEvent
from leadfunnel.analytics.funnel_spec import FunnelSpec

__all__ = ["event_times", "excluded_after_column", "excluded_between_column", "time_column"]


def time_column(k: int) -> str:
    return f"t{k}"


def excluded_between_column(k: int) -> str:
    """Excluded events strictly between the lead's times at steps k and k+1 (after step k
    when it has no time at step k+1)."""
    return f"excluded_between_{k}"


def excluded_after_column(k: int) -> str:
    """Excluded events strictly after the lead's time at step k."""
    return f"excluded_after_{k}"


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
        after = j.at > j[time_column(k)]
        before_next = j[time_column(k + 1)].isnull() | (j.at < j[time_column(k + 1)])
        counts[excluded_between_column(k)] = j.at.count(where=after & before_next)
        counts[excluded_after_column(k)] = j.at.count(where=after)
    flags = j.group_by("lead_id").aggregate(**counts)
    joined = times.left_join(flags, "lead_id").drop("lead_id_right")
    return joined.mutate(**{name: joined[name].fill_null(0) for name in counts})


def event_times(transitions: Table, touchpoints: Table, spec: FunnelSpec) -> Table:
    """One row per lead that did step 1: ``lead_id``, ``t{k}`` per step (NULL where it did
    not get there) and, with exclusions, the ``excluded_*`` counts per step."""
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
    return times
