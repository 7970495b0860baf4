"""Analytics over HTTP answer each caller about what they may see: a rep's funnel counts
their own leads, a manager's their team's, an admin's everyone's."""

from __future__ import annotations

from tests.api.conftest import World


def _move(world: World, lead: str, *stages: str) -> None:
    for stage in stages:
        response = world.client.post(f"/api/v1/leads/{world.leads[lead]}/stage", json={"to": stage},
                                     headers=world.as_("admin"))
        assert response.status_code == 200, response.text


def _reached(world: World, who: str, **params: str) -> dict[str, int]:
    response = world.client.get("/api/v1/analytics/funnel", params=params, headers=world.as_(who))
    assert response.status_code == 200, response.text
    return {row["stage"]: row["reached"] for row in response.json()["rows"]}


def test_funnels_count_what_the_caller_may_see(world: World) -> None:
    _move(world, "east", "mql", "sql")
    _move(world, "west", "mql")
    assert _reached(world, "admin", steps="lead,mql,sql") == {"lead": 3, "mql": 2, "sql": 1}
    assert _reached(world, "marketer", steps="lead,mql,sql") == {"lead": 3, "mql": 2, "sql": 1}
    assert _reached(world, "manager", steps="lead,mql,sql") == {"lead": 1, "mql": 1, "sql": 1}
    assert _reached(world, "rep_west", steps="lead,mql,sql") == {"lead": 1, "mql": 1, "sql": 0}
    world.own("west", "rep")  # ownership moves: the reports follow at once
    assert _reached(world, "rep", steps="lead,mql,sql") == {"lead": 2, "mql": 2, "sql": 1}
    assert _reached(world, "rep_west", steps="lead,mql,sql") == {}  # no lead: no rows, no error


def test_drill_lists_and_kpis_follow_the_same_scope(world: World) -> None:
    _move(world, "east", "mql")
    _move(world, "west", "mql")
    drill = world.client.get("/api/v1/analytics/funnel/drill", params={"step": "mql"}, headers=world.as_("rep"))
    assert drill.status_code == 200
    assert [item["id"] for item in drill.json()["items"]] == [str(world.leads["east"])]

    def leads(who: str, **params) -> int:
        body = world.client.get("/api/v1/analytics/kpis", params=params, headers=world.as_(who)).json()
        return sum(row["leads"] for row in body["groups"])

    assert leads("admin") == 3 and leads("manager") == 1 and leads("rep") == 1
    # A rep naming someone else's owner id narrows nothing open to them: zero, not a leak.
    assert leads("rep", where=f"owner_id={world.users['rep_west']}") == 0


def test_company_wide_stage_reports_are_for_admins_and_marketers(world: World) -> None:
    assert world.client.get("/api/v1/analytics/time-in-stage", headers=world.as_("marketer")).status_code == 200
    assert world.client.get("/api/v1/analytics/time-in-stage", headers=world.as_("rep")).status_code == 403
    bad = world.client.get("/api/v1/analytics/funnel", params={"steps": "lead,banana"}, headers=world.as_("admin"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_time_to_convert_takes_event_steps_as_the_funnel_does(world: World) -> None:
    _move(world, "east", "mql", "sql")
    _move(world, "west", "mql")
    url, admin = "/api/v1/analytics/time-to-convert", world.as_("admin")
    events = world.client.get(url, params={"events": "mql,sql", "mode": "strict"}, headers=admin)
    assert events.status_code == 200, events.text
    assert [(i["from"], i["to"], i["count"]) for i in events.json()["items"]] == [("mql", "sql", 1)]
    excluded = world.client.get(url, params={"events": "lead,sql", "exclude": "mql"}, headers=admin)
    # The world's clock stands still: east entered mql at the instant it entered sql, and an
    # excluded event at the same instant as a step is not between two steps.
    assert [i["count"] for i in excluded.json()["items"]] == [1]
    by = world.client.get(url, params={"steps": "lead,mql", "by": "region"}, headers=admin)
    assert by.status_code == 200, by.text
    assert sum(i["count"] for i in by.json()["items"]) == 2 and all("group" in i for i in by.json()["items"])
    rep = world.client.get(url, params={"steps": "lead,mql", "by": "region"}, headers=world.as_("rep"))
    assert sum(i["count"] for i in rep.json()["items"]) == 1  # the rep's own lead only
    bad = world.client.get(url, params={"events": "mql,mql", "mode": "any"}, headers=admin)
    assert bad.status_code == 422 and "mode" in bad.text


def test_funnel_drill_and_time_to_convert_take_where_filters_as_kpis_do(world: World) -> None:
    _move(world, "east", "mql", "sql")
    _move(world, "west", "mql")
    admin, east, west = world.as_("admin"), str(world.teams["East"]), str(world.teams["West"])
    steps = "lead,mql,sql"
    assert _reached(world, "admin", steps=steps, where=f"team_id={east}") == {"lead": 1, "mql": 1, "sql": 1}
    both = world.client.get("/api/v1/analytics/funnel", headers=admin,
                            params={"steps": steps, "where": [f"team_id={east}", f"team_id={west}"]})  # fmt: skip
    assert {r["stage"]: r["reached"] for r in both.json()["rows"]} == {"lead": 2, "mql": 2, "sql": 1}
    assert _reached(world, "admin", steps=steps, where="team_id=(none)") == {"lead": 1, "mql": 0, "sql": 0}
    kpis = world.client.get("/api/v1/analytics/kpis", params={"where": f"team_id={west}"}, headers=admin)
    assert kpis.json()["groups"][0]["leads"] == 1
    # Filters narrow what a caller may see, never widen it.
    assert _reached(world, "rep", steps=steps, where=f"team_id={west}") == {}
    drill = world.client.get("/api/v1/analytics/funnel/drill", headers=admin,
                             params={"step": "mql", "where": f"team_id={west}"})  # fmt: skip
    assert [item["id"] for item in drill.json()["items"]] == [str(world.leads["west"])]
    times = world.client.get("/api/v1/analytics/time-to-convert", headers=admin,
                             params={"steps": "lead,mql", "where": f"team_id={east}"})  # fmt: skip
    assert [i["count"] for i in times.json()["items"]] == [1]
    bad = world.client.get("/api/v1/analytics/funnel", params={"where": "colour=red"}, headers=admin)
    assert bad.status_code == 422 and "where" in bad.text and "colour" in bad.text


def test_bad_question_parameters_are_named_as_the_caller_sent_them(world: World) -> None:
    # The questions call them created_from, period_from or breakdown; the query says from, by.
    backwards = {"from": "2026-02-01", "to": "2026-01-01"}
    for path, params, field in (
        ("/api/v1/analytics/funnel", backwards, "from"),
        ("/api/v1/analytics/kpis", backwards, "from"),
        ("/api/v1/analytics/attribution", backwards, "from"),
        ("/api/v1/analytics/funnel", {"by": "colour"}, "by"),
    ):
        response = world.client.get(path, params=params, headers=world.as_("admin"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["field"] == field, (path, response.text)
