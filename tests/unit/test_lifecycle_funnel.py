from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leadfunnel.analytics.lifecycle_funnel import LeadPath, lifecycle_funnel
from leadfunnel.domain.lifecycle import Stage


def path(*entered: str, current: str | None = None) -> LeadPath:
    return LeadPath(frozenset(entered), current or entered[-1])


def by_stage(steps):
    return {s.stage: s for s in steps}


def test_worked_example_from_the_docstring():
    won_all_the_way = path("lead", "mql", "sql", "opportunity", "won")
    disqualified_after_mql = path("lead", "mql", "disqualified")
    skipped_to_sql_still_open = path("lead", "sql")
    steps = by_stage(
        lifecycle_funnel([won_all_the_way, disqualified_after_mql, skipped_to_sql_still_open])
    )
    assert [steps[s].reached for s in ("lead", "mql", "sql", "opportunity", "won")] == [
        3,
        3,
        2,
        1,
        1,
    ]
    assert (steps["sql"].converted, steps["sql"].open, steps["sql"].dropped) == (1, 1, 0)
    assert (steps["mql"].converted, steps["mql"].open, steps["mql"].dropped) == (2, 0, 1)
    assert steps["opportunity"].conversion_from_previous == 0.5
    assert steps["won"].conversion_from_first == 1 / 3
    assert steps["won"].drop_rate is None


def test_nurture_re_entry_counts_a_lead_once_per_stage():
    recycled = path("lead", "mql", "nurture", "sql", current="sql")
    steps = by_stage(lifecycle_funnel([recycled]))
    assert steps["mql"].reached == 1 and steps["sql"].reached == 1 and steps["sql"].open == 1


def test_empty_history_gives_zeros_and_no_ratios():
    steps = lifecycle_funnel([])
    assert all(s.reached == 0 and s.conversion_from_first is None for s in steps)


stages = st.sampled_from([s.value for s in Stage])
lead_paths = st.builds(
    lambda entered, current: LeadPath(frozenset(entered) | {current}, current),
    st.sets(stages, max_size=6),
    stages,
)


@given(st.lists(lead_paths, max_size=60))
def test_counts_are_consistent_for_any_history(leads):
    steps = lifecycle_funnel(leads)
    reached = [s.reached for s in steps]
    assert reached == sorted(reached, reverse=True)  # a funnel never widens
    for step in steps[:-1]:
        assert step.converted + step.open + step.dropped == step.reached
        assert step.open >= 0 and step.dropped >= 0
    main_path = {"lead", "mql", "sql", "opportunity", "won"}
    assert steps[0].reached == sum(1 for lead in leads if lead.entered & main_path)
