"""The reference funnel, checked on named journeys whose counts are worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from leadfunnel.analytics.funnel_oracle import LeadHistory, oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.domain.errors import ValidationError

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def journey(*steps: tuple[str, float], created: datetime = T0, **dims) -> LeadHistory:
    """steps: (stage, days after creation); the first is the creation."""
    transitions = tuple((stage, created + timedelta(days=d)) for stage, d in steps)
    return LeadHistory(
        created_at=created, current_stage=transitions[-1][0], transitions=transitions, dims=dims
    )


converted_all_the_way = journey(
    ("lead", 0), ("mql", 2), ("sql", 5), ("opportunity", 9), ("won", 30), channel="webinar"
)
skipped_mql_still_in_sql = journey(("lead", 0), ("sql", 1), channel="webinar")
disqualified_after_mql = journey(
    ("lead", 0), ("mql", 3), ("disqualified", 4), channel="paid_search"
)
recycled_then_won = journey(
    ("lead", 0),
    ("mql", 1),
    ("nurture", 10),
    ("mql", 200),
    ("sql", 201),
    ("opportunity", 205),
    ("won", 210),
    channel="paid_search",
)
waiting_as_lead = journey(("lead", 0), channel="social_ads")


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


ALL = [
    converted_all_the_way,
    skipped_mql_still_in_sql,
    disqualified_after_mql,
    recycled_then_won,
    waiting_as_lead,
]


def test_reached_includes_skipped_stages_and_open_leads_are_not_dropped():
    t = table(run(ALL))
    assert t[(None, None, "lead")] == (5, 4, 1, 0)  # waiting_as_lead is open at lead
    assert t[(None, None, "mql")] == (4, 3, 0, 1)  # skipped_mql counts at mql; disqualified dropped
    assert t[(None, None, "sql")] == (3, 2, 1, 0)  # skipped_mql still open in sql
    assert t[(None, None, "opportunity")] == (2, 2, 0, 0)
    assert t[(None, None, "won")] == (2, 0, 0, 0)


def test_a_window_counts_only_steps_reached_within_it_from_step_one():
    t = table(run(ALL, window="90d"))
    # recycled_then_won reached mql on day 1 (first entry) and sql only on day 201.
    assert t[(None, None, "mql")] == (4, 2, 0, 2)
    assert t[(None, None, "won")] == (1, 0, 0, 0)


def test_a_window_still_running_keeps_a_lead_open_instead_of_dropped():
    fresh = journey(("lead", 0), ("mql", 1), created=NOW - timedelta(days=10))
    assert table(run([fresh], window="30d"))[(None, None, "mql")] == (1, 0, 1, 0)
    assert table(run([fresh], window="30d", now=NOW + timedelta(days=30)))[(None, None, "mql")] == (
        1,
        0,
        0,
        1,
    )


def test_per_step_windows_bound_each_step_from_the_previous_one():
    spec = {"steps": ["mql", "sql", "won"], "step_windows": ["2d", None]}
    t = table(run([converted_all_the_way, recycled_then_won], **spec))
    # converted_all_the_way took 3 days from mql to sql; recycled took 200.
    assert t[(None, None, "mql")] == (2, 0, 0, 2)


def test_strict_mode_needs_consecutive_stage_changes():
    t = table(run(ALL, mode="strict", steps=["lead", "mql", "sql"]))
    # skipped_mql_still_in_sql never entered mql; recycled_then_won went mql -> nurture.
    assert t[(None, None, "lead")][0] == 5
    assert t[(None, None, "mql")][0] == 3
    assert t[(None, None, "sql")][0] == 1


def test_breakdown_with_top_n_merges_the_rest_into_other():
    t = table(run(ALL, breakdown="channel", top_n=1))
    # webinar and paid_search both bring 2 leads: ties go to the name first in order.
    assert t[("paid_search", None, "lead")][0] == 2 and t[("paid_search", None, "won")][0] == 1
    assert t[("other", None, "lead")][0] == 3 and t[("other", None, "won")][0] == 1
    assert {group for group, _, _ in t} == {"paid_search", "other"}


def test_last_touch_attribution_reads_the_last_touch_column():
    lead = journey(("lead", 0), ("mql", 1), channel="webinar", last_channel="email")
    assert {g for g, _, _ in table(run([lead], breakdown="channel", attribution="last_touch"))} == {
        "email"
    }
    missing = journey(("lead", 0))
    assert {g for g, _, _ in table(run([missing], breakdown="region"))} == {"(none)"}


def test_cohorts_group_leads_by_creation_period():
    january = journey(("lead", 0), ("mql", 1), created=datetime(2025, 1, 31, 23, tzinfo=UTC))
    february = journey(("lead", 0), created=datetime(2025, 2, 1, tzinfo=UTC))
    thursday = journey(("lead", 0), created=datetime(2025, 1, 9, tzinfo=UTC))
    assert set(table(run([january, february], cohort="month"))) >= {
        (None, "2025-01-01", "mql"),
        (None, "2025-02-01", "lead"),
    }
    assert {c for _, c, _ in table(run([thursday, converted_all_the_way], cohort="week"))} == {
        "2025-01-06"
    }
    assert {c for _, c, _ in table(run([february], cohort="quarter"))} == {"2025-01-01"}


def test_creation_filters_and_rates():
    result = run(
        [*ALL, journey(("lead", 0), created=datetime(2024, 12, 1, tzinfo=UTC))],
        created_from=date(2025, 1, 1),
    )
    rows = {r["stage"]: r for r in result.to_dict()["rows"]}
    assert rows["lead"]["reached"] == 5
    assert (
        rows["mql"]["conversion_from_previous"] == 0.8
        and rows["won"]["conversion_from_first"] == 0.4
    )
    assert rows["mql"]["drop_rate"] == 0.25 and rows["won"]["drop_rate"] is None


def test_filters_keep_leads_matching_any_value_of_each_dimension_and_every_dimension():
    either = table(run(ALL, filters=["channel=webinar", "channel=social_ads"]))
    assert either[(None, None, "lead")] == (3, 2, 1, 0)  # both webinar leads and waiting_as_lead
    emea = journey(("lead", 0), ("mql", 1), channel="webinar", region="EMEA")
    both = table(run([*ALL, emea], filters={"channel": "webinar", "region": ["EMEA"]}))
    assert both[(None, None, "mql")] == (1, 0, 1, 0)
    empty = table(run([*ALL, emea], filters=["region=(none)"], breakdown="channel"))
    assert {g for g, _, _ in empty} == {"webinar", "paid_search", "social_ads"}
    assert empty[("webinar", None, "lead")][0] == 2


def test_filters_follow_the_attribution_and_read_custom_fields_as_breakdowns_do():
    lead = journey(("lead", 0), ("mql", 1), channel="webinar", last_channel="email",
                   custom_fields={"plan": "gold", "seats": 42})  # fmt: skip
    assert table(run([lead], filters=["channel=webinar"]))
    assert not table(run([lead], filters=["channel=webinar"], attribution="last_touch"))
    assert table(run([lead], filters=["channel=email"], attribution="last_touch"))
    assert table(run([lead], filters=["custom.plan=gold", "custom.seats=42"]))
    assert not table(run([lead], filters=["custom.plan=silver"]))
    assert table(run([lead], filters=["custom.missing=(none)"]))


def test_an_empty_history_gives_an_empty_valid_result():
    assert run([]).to_dict() == {"steps": ["lead", "mql", "sql", "opportunity", "won"], "rows": []}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"steps": []}, "steps"),
        ({"steps": ["sql", "mql"]}, "steps"),
        ({"steps": ["nurture"]}, "steps"),
        ({"window": "0d"}, "window"),
        ({"window": "-5d"}, "window"),
        ({"mode": "fuzzy"}, "mode"),
        ({"breakdown": "colour"}, "breakdown"),
        ({"cohort": "year"}, "cohort"),
        ({"top_n": 0}, "top_n"),
        ({"steps": ["mql", "sql"], "step_windows": ["1d", "2d"]}, "step_windows"),
        ({"filters": ["colour=red"]}, "where"),
        ({"filters": ["channel"]}, "where"),
        ({"filters": ["channel="]}, "where"),
        ({"filters": ["=webinar"]}, "where"),
        ({"filters": {"custom.bad-name": "x"}}, "where"),
        ({"filters": {"region": ""}}, "where"),
    ],
)
def test_bad_specs_name_the_field(options, field):
    with pytest.raises(ValidationError) as caught:
        funnel_spec(**options)
    assert caught.value.field == field


def test_the_worked_example_in_docs_concepts_funnels():
    e_created = datetime(2025, 5, 20, tzinfo=UTC)
    leads = [converted_all_the_way, skipped_mql_still_in_sql, disqualified_after_mql, recycled_then_won,
             journey(("lead", 0), created=e_created)]  # fmt: skip
    t = table(run(leads, window="90d", now=datetime(2025, 6, 1, tzinfo=UTC)))
    assert [t[(None, None, s)] for s in ("lead", "mql", "sql", "opportunity", "won")] == [
        (5, 4, 1, 0), (4, 2, 0, 2), (2, 1, 0, 1), (1, 1, 0, 0), (1, 0, 0, 0),
    ]  # fmt: skip
    without = table(run(leads, now=datetime(2025, 6, 1, tzinfo=UTC)))
    assert without[(None, None, "won")][0] == 2 and without[(None, None, "sql")][2] == 1


def test_results_convert_to_dataframes_with_named_columns():
    result = run(ALL, breakdown="channel")
    frame = result.to_pandas()
    assert list(frame.columns)[:4] == ["group", "cohort", "step", "stage"]
    assert frame[frame.stage == "lead"].reached.sum() == 5
    polars_frame = result.to_polars()
    assert (
        polars_frame.height == len(result.rows)
        and polars_frame["reached"].sum() == frame.reached.sum()
    )
    assert run([]).to_pandas().empty
