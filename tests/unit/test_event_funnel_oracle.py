"""Event funnels, exclusion steps, cohorts by entry and custom-field breakdowns in the
reference funnel, on named journeys whose counts are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadfunnel.analytics.drill import drill_spec, oracle_drill
from leadfunnel.analytics.funnel_events import EventSource, FunnelEvent, parse_event
from leadfunnel.analytics.funnel_oracle import LeadHistory, oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.domain.errors import ValidationError
from tests.histories import histories, specs

NOW = datetime(2025, 6, 1, tzinfo=UTC)
OLD = datetime(2025, 1, 6, 9, tzinfo=UTC)
STEPS = ["ad_click", "form_submit", "demo_request", "opportunity"]


def person(
    *touches: tuple[str, float],
    stages: tuple[tuple[str, float], ...] = (("lead", 0),),
    created: datetime = OLD,
    **dims,
) -> LeadHistory:
    """touches and stages: (what, days after creation)."""
    at = lambda d: created + timedelta(days=d)  # noqa: E731
    return LeadHistory(
        created_at=created,
        current_stage=stages[-1][0],
        transitions=tuple((s, at(d)) for s, d in stages),
        dims=dims,
        touches=tuple((k, at(d)) for k, d in touches),
    )


# The worked example of docs/concepts/funnels.md, "Event funnels and exclusion steps".
clicked_all_the_way = person(
    ("ad_click", 0), ("form_submit", 0.01), ("demo_request", 3),
    stages=(("lead", 0), ("mql", 1), ("sql", 5), ("opportunity", 10)),
)  # fmt: skip
unsubscribed_before_the_demo = person(
    ("ad_click", 0), ("form_submit", 0.01), ("unsubscribe", 2), ("demo_request", 5)
)
unsubscribed_after_the_demo = person(
    ("ad_click", 0), ("form_submit", 1), ("demo_request", 2), ("unsubscribe", 4),
    stages=(("lead", 0), ("mql", 2)), created=datetime(2025, 5, 20, tzinfo=UTC),
)  # fmt: skip
submitted_before_clicking = person(("form_submit", 0), ("ad_click", 3))
too_slow_for_the_window = person(("ad_click", 0), ("form_submit", 40))
still_deciding = person(
    ("ad_click", 0), ("form_submit", 0.1),
    stages=(("lead", 0), ("mql", 1)), created=datetime(2025, 5, 25, tzinfo=UTC),
)  # fmt: skip
EXAMPLE = [
    clicked_all_the_way,
    unsubscribed_before_the_demo,
    unsubscribed_after_the_demo,
    submitted_before_clicking,
    too_slow_for_the_window,
    still_deciding,
]


def table(result):
    return {
        (r["group"], r["cohort"], r["stage"]): (
            r["reached"],
            r["converted"],
            r["open"],
            r["dropped"],
        )
        for r in result.to_dict()["rows"]
    }


def run(leads, now=NOW, **spec):
    return oracle_funnel(leads, funnel_spec(**spec), now=now)


def counts(result):
    """(reached, converted, open, dropped) per step of a funnel without breakdown or cohort."""
    return [(r.reached, r.converted, r.open, r.dropped) for r in result.rows]


def test_the_worked_example_in_docs_concepts_funnels():
    result = run(EXAMPLE, events=STEPS, exclude=["unsubscribe"], window="30d")
    assert counts(result) == [(6, 4, 0, 2), (4, 2, 1, 1), (2, 1, 0, 1), (1, 0, 0, 0)]
    without = run(EXAMPLE, events=STEPS, window="30d")
    # B now counts at demo_request; C, still within its window, is open there.
    assert counts(without) == [(6, 4, 0, 2), (4, 3, 1, 0), (3, 1, 1, 1), (1, 0, 0, 0)]


def test_a_step_is_the_first_occurrence_at_or_after_the_previous_step():
    clicked_twice = person(("ad_click", 0), ("form_submit", 1), ("ad_click", 2), ("form_submit", 3))
    t = counts(run([clicked_twice, submitted_before_clicking], events=["ad_click", "form_submit"]))
    assert t[0][:2] == (2, 1)
    same_instant = person(("ad_click", 0), ("form_submit", 0))
    assert counts(run([same_instant], events=["ad_click", "form_submit"]))[1][0] == 1


def test_a_repeated_step_needs_a_later_occurrence():
    once, twice = person(("page_view", 0)), person(("page_view", 0), ("page_view", 2))
    t = counts(run([once, twice], events=["page_view", "page_view"], window="30d"))
    assert t == [(2, 1, 0, 1), (1, 0, 0, 0)]


def test_a_stage_step_is_reached_with_any_later_path_stage():
    accepted_straight_to_sql = person(("ad_click", 0), stages=(("lead", 0), ("sql", 1)))
    recycled_before_the_click = person(
        ("ad_click", 5), stages=(("lead", 0), ("mql", 1), ("nurture", 2))
    )
    t = counts(
        run([accepted_straight_to_sql, recycled_before_the_click], events=["ad_click", "mql"])
    )
    # Nurture is not on the path: the second lead never reached mql after its click.
    assert t == [(2, 1, 0, 1), (1, 0, 0, 0)]
    lost = person(
        ("demo_request", 0), stages=(("lead", 0), ("sql", 1), ("opportunity", 2), ("lost", 9))
    )
    assert counts(run([lost], events=["demo_request", "lost"]))[1][0] == 1


def test_an_event_funnel_over_stages_equals_the_lifecycle_funnel_on_the_docs_example():
    recycled = person(stages=(("lead", 0), ("mql", 1), ("nurture", 10), ("mql", 200), ("sql", 201)))
    leads = [clicked_all_the_way, recycled, still_deciding]
    for window in (None, "90d"):
        assert (
            run(leads, events=["lead", "mql", "sql"], window=window).rows
            == run(leads, steps=["lead", "mql", "sql"], window=window).rows
        )


@settings(max_examples=150, deadline=None)
@given(leads=st.lists(histories(), max_size=20), spec=specs())
def test_an_event_funnel_over_path_stages_equals_the_lifecycle_funnel(leads, spec):
    if spec.mode.value == "strict":
        return
    as_events = funnel_spec(
        events=list(spec.steps), window=spec.window_days, step_windows=spec.step_windows,
        breakdown=spec.breakdown, attribution=spec.attribution, cohort=spec.cohort, top_n=spec.top_n,
        filters=dict(spec.filters),
    )  # fmt: skip
    assert oracle_funnel(leads, as_events, now=NOW).rows == oracle_funnel(leads, spec, now=NOW).rows


def test_an_excluded_event_at_the_same_instant_as_a_step_does_not_exclude():
    tie = person(("ad_click", 0), ("unsubscribe", 1), ("form_submit", 1))
    assert (
        counts(run([tie], events=["ad_click", "form_submit"], exclude=["unsubscribe"]))[1][0] == 1
    )


def test_the_funnel_follows_the_first_attempt_so_an_exclusion_ends_it():
    retried = person(("ad_click", 0), ("unsubscribe", 1), ("ad_click", 2), ("form_submit", 3))
    t = counts(run([retried], events=["ad_click", "form_submit"], exclude=["unsubscribe"]))
    assert t == [(1, 0, 0, 1), (0, 0, 0, 0)]


def test_exclusions_turn_a_lifecycle_funnel_into_an_event_funnel_over_its_stages():
    straight = person(stages=(("lead", 0), ("mql", 1), ("sql", 2), ("opportunity", 3), ("won", 4)))
    parked = person(stages=(("lead", 0), ("mql", 1), ("nurture", 5), ("mql", 30), ("sql", 31), ("opportunity", 32), ("won", 40)))  # fmt: skip
    result = run([straight, parked], steps=["mql", "won"], exclude=["nurture"])
    assert result.spec.is_event_funnel and result.spec.steps == ("mql", "won")
    assert counts(result) == [(2, 1, 0, 1), (1, 0, 0, 0)]


def test_cohorts_by_entry_use_the_period_of_step_one_not_of_creation():
    january_lead_march_click = person(
        ("ad_click", 60), ("form_submit", 61), created=datetime(2025, 1, 10, tzinfo=UTC)
    )
    spec = {"events": ["ad_click", "form_submit"], "cohort": "month"}
    assert {c for _, c, _ in table(run([january_lead_march_click], **spec))} == {"2025-01-01"}
    entered = table(run([january_lead_march_click], cohort_by="entered", **spec))
    assert {c for _, c, _ in entered} == {"2025-03-01"}
    lifecycle = person(stages=(("lead", 0), ("mql", 45)), created=datetime(2025, 1, 10, tzinfo=UTC))
    by_mql = table(run([lifecycle], steps=["mql"], cohort="quarter", cohort_by="entered"))
    assert {c for _, c, _ in by_mql} == {"2025-01-01"}
    by_week = table(run([lifecycle], steps=["mql"], cohort="week", cohort_by="entered"))
    assert {c for _, c, _ in by_week} == {"2025-02-24"}  # mql on Monday 2025-02-24


def test_a_custom_field_breakdown_reads_values_as_json_text_with_top_n():
    leads = [
        person(stages=(("lead", 0),), custom_fields={"plan": "gold"}),
        person(stages=(("lead", 0), ("mql", 1)), custom_fields={"plan": "gold"}),
        person(stages=(("lead", 0),), custom_fields={"plan": 42}),
        person(stages=(("lead", 0),), custom_fields={"plan": True}),
        person(stages=(("lead", 0),), custom_fields={"plan": ""}),
        person(stages=(("lead", 0),), custom_fields={"plan": None}),
        person(stages=(("lead", 0),), custom_fields={}),
        person(stages=(("lead", 0),)),
    ]
    t = table(run(leads, steps=["lead", "mql"], breakdown="custom.plan"))
    assert {g: t[(g, None, "lead")][0] for g, _, s in t if s == "lead"} == {
        "gold": 2, "42": 1, "true": 1, "(none)": 4,
    }  # fmt: skip
    assert t[("gold", None, "mql")][0] == 1
    top = table(run(leads, steps=["lead"], breakdown="custom_fields.plan", top_n=1))
    assert {g for g, _, _ in top} == {"(none)", "other"}


def test_an_unknown_custom_field_puts_every_lead_under_none():
    t = table(run(EXAMPLE, events=STEPS, breakdown="custom.no_such_field"))
    assert {g for g, _, _ in t} == {"(none)"} and t[("(none)", None, "ad_click")][0] == 6


def test_drill_down_lists_the_leads_excluded_at_a_step():
    pairs = list(enumerate(EXAMPLE))
    spec = funnel_spec(events=STEPS, exclude=["unsubscribe"], window="30d")
    assert oracle_drill(
        pairs, drill_spec(spec, step="form_submit", outcome="dropped"), now=NOW
    ) == [1]
    assert oracle_drill(pairs, drill_spec(spec, step="form_submit", outcome="open"), now=NOW) == [5]
    assert oracle_drill(
        pairs, drill_spec(spec, step="demo_request", outcome="dropped"), now=NOW
    ) == [2]


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("ad_click", FunnelEvent(EventSource.TOUCH, "ad_click")),
        (" Form_Submit ", FunnelEvent(EventSource.TOUCH, "form_submit")),
        ("opportunity", FunnelEvent(EventSource.STAGE, "opportunity")),
        ("stage:lost", FunnelEvent(EventSource.STAGE, "lost")),
        ("touch:won", FunnelEvent(EventSource.TOUCH, "won")),
    ],
)
def test_event_steps_parse_and_their_labels_parse_back(text, event):
    assert parse_event(text) == event and parse_event(event.label) == event


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"events": []}, "events"),
        ({"events": ["ad click"]}, "events"),
        ({"events": ["stage:closed"]}, "events"),
        ({"events": ["event:ad_click"]}, "events"),
        ({"events": ["ad_click"], "steps": ["mql"]}, "events"),
        ({"events": ["page_view", "page_view"], "mode": "any"}, "mode"),
        (
            {"events": ["ad_click", "form_submit"], "mode": "any", "step_windows": ["1d"]},
            "step_windows",
        ),
        ({"events": ["ad_click"], "mode": "sideways"}, "mode"),
        ({"steps": ["mql", "sql"], "exclude": ["nurture"], "mode": "strict"}, "mode"),
        ({"events": ["ad_click", "unsubscribe"], "exclude": ["unsubscribe"]}, "exclude"),
        ({"events": ["ad_click"], "exclude": ["stage:gone"]}, "exclude"),
        ({"cohort_by": "entered"}, "cohort_by"),
        ({"cohort": "month", "cohort_by": "first_touch"}, "cohort_by"),
        ({"breakdown": "custom.bad-key"}, "breakdown"),
        ({"breakdown": "custom."}, "breakdown"),
        ({"breakdown": "customer"}, "breakdown"),
    ],
)
def test_bad_event_specs_name_the_field(options, field):
    with pytest.raises(ValidationError) as caught:
        funnel_spec(**options)
    assert caught.value.field == field


# The worked examples of docs/concepts/funnels.md, "Modes of event funnels".
straight_through = person(("ad_click", 0), ("form_submit", 1), ("demo_request", 3))
browsed_in_between = person(
    ("ad_click", 0), ("page_view", 0.5), ("form_submit", 1), ("demo_request", 2)
)
became_mql_in_between = person(
    ("ad_click", 0), ("form_submit", 1), ("demo_request", 3), stages=(("lead", 0), ("mql", 2))
)
nothing_since_the_form = person(("ad_click", 0), ("form_submit", 1))
STRICT_EXAMPLE = [
    straight_through,
    browsed_in_between,
    became_mql_in_between,
    nothing_since_the_form,
]
demo_first = person(("demo_request", 0), ("form_submit", 2))
demo_too_late = person(("form_submit", 0), ("demo_request", 40))
form_only_lately = person(("form_submit", 0), created=datetime(2025, 5, 25, tzinfo=UTC))
unsubscribed_in_between = person(("form_submit", 0), ("unsubscribe", 1), ("demo_request", 3))
ANY_EXAMPLE = [demo_first, demo_too_late, form_only_lately, unsubscribed_in_between]


def test_strict_event_funnels_allow_no_other_event_between_two_steps():
    steps = ["ad_click", "form_submit", "demo_request"]
    strict = run(STRICT_EXAMPLE, events=steps, mode="strict")
    # A page view, then a stage change, came between two steps; the last lead did nothing since.
    assert counts(strict) == [(4, 3, 0, 1), (3, 1, 1, 1), (1, 0, 0, 0)]
    assert counts(run(STRICT_EXAMPLE, events=steps)) == [(4, 4, 0, 0), (4, 3, 1, 0), (3, 0, 0, 0)]
    spec = funnel_spec(events=steps, mode="strict")
    pairs = list(enumerate(STRICT_EXAMPLE))
    assert oracle_drill(
        pairs, drill_spec(spec, step="form_submit", outcome="dropped"), now=NOW
    ) == [2]
    assert oracle_drill(pairs, drill_spec(spec, step="form_submit", outcome="open"), now=NOW) == [3]


def test_events_at_the_same_instant_as_a_step_do_not_break_a_strict_funnel():
    tie = person(
        ("ad_click", 0), ("page_view", 1), ("form_submit", 1), stages=(("lead", 0), ("mql", 1))
    )
    assert counts(run([tie], events=["ad_click", "form_submit", "mql"], mode="strict"))[2][0] == 1


def test_any_order_event_funnels_take_each_steps_first_time_within_one_window():
    spec = {"events": ["form_submit", "demo_request"], "mode": "any", "window": "30d"}
    assert counts(run(ANY_EXAMPLE, **spec, exclude=["unsubscribe"])) == [(4, 1, 1, 2), (1, 0, 0, 0)]
    assert counts(run(ANY_EXAMPLE, **spec)) == [(4, 2, 1, 1), (2, 0, 0, 0)]
    # Ordered, the demo before the form does not count.
    ordered = run(ANY_EXAMPLE, events=["form_submit", "demo_request"], window="30d")
    assert counts(ordered)[1][0] == 1
    pairs = list(enumerate(ANY_EXAMPLE))
    cell = drill_spec(funnel_spec(**spec), step="form_submit", outcome="converted")
    assert oracle_drill(pairs, cell, now=NOW) == [3, 0]  # by time at the step: day 0, day 2


def test_any_order_time_to_convert_runs_from_having_done_the_earlier_steps():
    from leadfunnel.analytics.durations import oracle_step_times

    spec = funnel_spec(events=["form_submit", "demo_request"], mode="any", window="30d")
    (gap,) = oracle_step_times(ANY_EXAMPLE, spec)
    # demo_first had done both when it submitted the form (0 days); the last lead took 3 days.
    assert (gap.count, gap.median_days) == (2, 1.5)
