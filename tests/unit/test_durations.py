from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadfunnel.analytics.durations import (
    duration_stats,
    oracle_stage_times,
    oracle_step_times,
    percentile,
)
from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.funnel_spec import funnel_spec

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def test_the_worked_example_of_the_module_docstring():
    stats = duration_stats([1, 2, 3, 10])
    assert (stats.count, stats.mean_days, stats.median_days) == (4, 4.0, 2.5)
    assert abs(stats.p90_days - 7.9) < 1e-9
    assert stats.histogram == (0, 3, 1, 0, 0, 0)


def test_percentile_interpolates_and_handles_edges():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([0.0, 10.0], 0.9) == 9.0


def lead(*steps):
    transitions = tuple((s, T0 + timedelta(days=d)) for s, d in steps)
    return LeadHistory(T0, transitions[-1][0], transitions)


def test_stage_stays_are_measured_to_the_next_change_and_open_stays_are_counted_apart():
    times = oracle_stage_times(
        [lead(("lead", 0), ("mql", 2), ("sql", 5)), lead(("lead", 0), ("mql", 10))]
    )
    assert times["lead"].count == 2 and times["lead"].mean_days == 6.0
    assert (times["mql"].count, times["mql"].open, times["mql"].median_days) == (1, 1, 3.0)
    assert (times["sql"].count, times["sql"].open, times["sql"].median_days) == (0, 1, None)


def test_time_to_convert_uses_the_funnel_times_including_skips_and_windows():
    leads = [lead(("lead", 0), ("sql", 4)), lead(("lead", 0), ("mql", 1), ("sql", 100))]
    to_mql, to_sql = oracle_step_times(leads, funnel_spec(steps=["lead", "mql", "sql"]))
    assert (to_mql.count, to_mql.mean_days) == (2, 2.5)  # the skip reached mql at day 4
    assert (to_sql.count, to_sql.median_days) == (2, 49.5)
    (windowed,) = oracle_step_times(leads, funnel_spec(steps=["lead", "sql"], window="30d"))
    assert (windowed.count, windowed.median_days) == (1, 4.0)


def test_stagnation_worked_example_and_thresholds_per_stage():
    from leadfunnel.analytics.stagnation import oracle_stagnation, stagnation_spec
    from leadfunnel.domain.errors import ValidationError

    day0 = datetime(2026, 1, 1, tzinfo=UTC)

    def lead(*moves):
        transitions = tuple((stage, day0 + timedelta(days=d)) for stage, d in moves)
        return LeadHistory(transitions[0][1], transitions[-1][0], transitions)

    leads = [
        lead(("lead", 0), ("mql", 60)),
        lead(("lead", 0), ("mql", 90)),
        lead(("lead", 0), ("won", 5)),
    ]
    now = day0 + timedelta(days=100)
    rows = {r.stage: r for r in oracle_stagnation(leads, stagnation_spec("30d"), now=now)}
    assert (rows["mql"].open, rows["mql"].stagnant, rows["mql"].longest_days) == (2, 1, 40.0)
    assert "won" not in rows and rows["lead"].open == 0
    per_stage = stagnation_spec("mql=5w, sql=10d")
    assert dict(per_stage.thresholds) == {"mql": 35.0, "sql": 10.0}
    assert [r.stagnant for r in oracle_stagnation(leads, per_stage, now=now)] == [1, 0]
    with pytest.raises(ValidationError, match="'won' is not an open stage"):
        stagnation_spec("won=3d")
    with pytest.raises(ValidationError, match="threshold"):
        stagnation_spec("mql=-3d")
