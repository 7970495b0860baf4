"""``leadfunnel funnel`` for event funnels, exclusions, cohorts by entry, custom-field and
owner breakdowns, as a user runs it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from leadfunnel.domain.ids import new_id


def touch(cli, email: str, kind: str, **fields) -> str:
    """Submit the lead (created, or merged by email) with a touchpoint of ``kind``."""
    data = {"email": email, "touchpoint_kind": kind, **fields}
    return cli.json("lead", "add", "--data", json.dumps(data))["lead_id"]


@pytest.fixture
def journeys(cli):
    """converted: ad_click, form_submit, mql; unsubscribed: ad_click, unsubscribe, form_submit;
    no_click: form_submit only."""
    converted = touch(cli, "c@x.example", "ad_click", custom_fields={"plan": "gold"})
    touch(cli, "c@x.example", "form_submit")
    cli.json("lead", "move", converted, "--to", "mql")
    unsubscribed = touch(cli, "u@x.example", "ad_click")
    touch(cli, "u@x.example", "unsubscribe")
    touch(cli, "u@x.example", "form_submit")
    no_click = touch(cli, "n@x.example", "form_submit")
    return {"converted": converted, "unsubscribed": unsubscribed, "no_click": no_click}


EVENTS = ("--events", "ad_click,form_submit,mql")


def test_an_event_funnel_with_an_exclusion_step(cli, journeys):
    plain = cli.json("funnel", *EVENTS)
    assert plain["steps"] == ["ad_click", "form_submit", "mql"]
    assert [r["reached"] for r in plain["rows"]] == [2, 2, 1]
    excluded = cli.json("funnel", *EVENTS, "--exclude", "unsubscribe")
    assert [(r["stage"], r["reached"], r["dropped"]) for r in excluded["rows"]] == [
        ("ad_click", 2, 1), ("form_submit", 1, 0), ("mql", 1, 0),
    ]  # fmt: skip
    code, out, _ = cli("funnel", *EVENTS, "--exclude", "unsubscribe")
    assert code == 0 and "Event funnel" in out and "form_submit" in out
    dropped = cli.json(
        "funnel", "drill", "--step", "ad_click", "--dropped", *EVENTS, "--exclude", "unsubscribe"
    )
    assert [lead["id"] for lead in dropped["items"]] == [journeys["unsubscribed"]]


def test_event_funnels_in_modes_strict_and_any(cli, journeys):
    reversed_steps = ("--events", "form_submit,ad_click")
    assert [r["reached"] for r in cli.json("funnel", *reversed_steps)["rows"]] == [3, 0]
    any_order = cli.json("funnel", *reversed_steps, "--mode", "any")
    assert [r["reached"] for r in any_order["rows"]] == [3, 2]
    # The unsubscribe came between the click and the form: not strict.
    strict = cli.json("funnel", "--events", "ad_click,form_submit", "--mode", "strict")
    assert [r["reached"] for r in strict["rows"]] == [2, 1]
    drilled = cli.json("funnel", "drill", "--step", "ad_click", "--dropped", "--events",
                       "ad_click,form_submit", "--mode", "strict")  # fmt: skip
    assert [lead["id"] for lead in drilled["items"]] == [journeys["unsubscribed"]]


def test_time_to_convert_between_event_steps(cli, journeys):
    data = cli.json("times", *EVENTS)
    assert [(t["from"], t["to"], t["count"]) for t in data["time_to_convert"]] == [
        ("ad_click", "form_submit", 2), ("form_submit", "mql", 1),
    ]  # fmt: skip
    excluded = cli.json("times", *EVENTS, "--exclude", "unsubscribe", "--mode", "strict")
    assert [t["count"] for t in excluded["time_to_convert"]] == [1, 1]
    assert all(t["median_days"] >= 0 for t in excluded["time_to_convert"])
    code, out, _ = cli("times", "--events", "form_submit,ad_click", "--mode", "any")
    assert code == 0 and "form_submit -> ad_click" in out
    code, _, err = cli("times", "--events", "ad_click", "--steps", "mql")
    assert code == 1 and err.startswith("error: events: give lifecycle steps or event steps")


def test_time_to_convert_by_a_custom_field(cli, journeys):
    data = cli.json("times", *EVENTS, "--by", "custom.plan")
    assert [(t["group"], t["from"], t["to"], t["count"]) for t in data["time_to_convert"]] == [
        ("(none)", "ad_click", "form_submit", 1), ("(none)", "form_submit", "mql", 0),
        ("gold", "ad_click", "form_submit", 1), ("gold", "form_submit", "mql", 1),
    ]  # fmt: skip
    code, out, _ = cli("times", "--steps", "lead,mql", "--by", "channel")
    assert code == 0 and "-> mql" in out
    code, _, err = cli("times", "--by", "custom.no-dashes")
    assert code == 1 and err.startswith("error: breakdown:")


def test_custom_field_breakdowns_and_cohorts_by_entry(cli, journeys):
    by_plan = cli.json("funnel", *EVENTS, "--by", "custom.plan")
    assert {(r["group"], r["stage"]): r["reached"] for r in by_plan["rows"]} == {
        ("gold", "ad_click"): 1, ("gold", "form_submit"): 1, ("gold", "mql"): 1,
        ("(none)", "ad_click"): 1, ("(none)", "form_submit"): 1, ("(none)", "mql"): 0,
    }  # fmt: skip
    gold = cli.json("funnel", "drill", "--step", "mql", *EVENTS, "--by-value", "custom.plan=gold")
    assert [lead["id"] for lead in gold["items"]] == [journeys["converted"]]
    code, out, _ = cli("funnel", "--steps", "lead,mql", "--by", "custom.no_such_field")
    assert code == 0 and "No lead in this funnel has the custom field 'no_such_field'" in out
    month = datetime.now(UTC).date().replace(day=1).isoformat()
    entered = cli.json("funnel", "--steps", "mql", "--cohort", "month", "--cohort-by", "entered")
    assert [(r["cohort"], r["reached"]) for r in entered["rows"]] == [(month, 1)]


def test_owner_ids_print_as_dashed_uuids(cli, sqlite_url, journeys):
    owner = new_id()
    app = build_app(Settings(database_url=sqlite_url))
    try:
        with app.uow_factory() as uow:
            uow.records.insert("users", [{"id": owner, "email": "rep@x.example", "name": "Rep",
                                          "role": "rep", "created_at": datetime.now(UTC)}])  # fmt: skip
            uow.leads.update(uuid.UUID(journeys["converted"]), {"owner_id": owner})
            uow.commit()
    finally:
        app.close()
    rows = cli.json("funnel", "--steps", "lead", "--by", "owner_id")["rows"]
    assert {r["group"] for r in rows} == {str(owner), "(none)"} and "-" in str(owner)
    cell = cli.json("funnel", "drill", "--step", "lead", "--by-value", f"owner_id={owner}")
    assert cell["total"] == 1


def test_where_filters_funnels_drill_downs_and_times(cli, journeys):
    gold = cli.json("funnel", *EVENTS, "--where", "custom.plan=gold")
    assert [r["reached"] for r in gold["rows"]] == [1, 1, 1]
    either = cli.json("funnel", *EVENTS, "--where", "custom.plan=gold", "--where", "custom.plan=(none)")
    assert [r["reached"] for r in either["rows"]] == [2, 2, 1]
    none = cli.json("funnel", "drill", "--step", "form_submit", *EVENTS, "--where", "custom.plan=(none)")
    assert [lead["id"] for lead in none["items"]] == [journeys["unsubscribed"]]
    data = cli.json("times", *EVENTS, "--where", "custom.plan=gold")
    assert [t["count"] for t in data["time_to_convert"]] == [1, 1]
    code, _, err = cli("funnel", "--where", "colour=red")
    assert code == 1 and err.startswith("error: where: cannot filter by 'colour'"), err
    code, _, err = cli("times", "--where", "channel")
    assert code == 1 and err.startswith("error: where: 'channel' is not DIMENSION=VALUE"), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "ad_click", "--steps", "mql"], "error: events: give lifecycle steps or event steps, not both"),
        (["--events", "ad click"], "error: events: 'ad click' is not a touchpoint kind"),
        (["--events", "stage:closed"], "error: events: unknown stage 'closed'"),
        (["--events", "ad_click,unsubscribe", "--exclude", "unsubscribe"], "error: exclude: 'unsubscribe' is a step of this funnel"),
        (["--steps", "mql,won", "--exclude", "nurture", "--mode", "strict"], "error: mode: lifecycle steps with exclusions are an ordered event funnel"),
        (["--events", "page_view,page_view", "--mode", "any"], "error: mode: mode any: step 'page_view' repeats"),
        (["--cohort-by", "entered"], "error: cohort_by: needs a cohort period"),
        (["--cohort", "month", "--cohort-by", "step1"], "error: cohort_by: 'step1' is not one of: created, entered"),
        (["--by", "custom.no-dashes"], "error: breakdown: 'custom.no-dashes': a custom field is custom.NAME"),
    ],
)  # fmt: skip
def test_bad_event_funnel_questions_name_the_option(cli, args, message):
    code, _, err = cli("funnel", *args)
    assert code == 1 and err.startswith(message), err
