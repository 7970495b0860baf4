"""Leads over HTTP: pages, optimistic concurrency, moves, validation as problem+json."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from tests.api.conftest import World
from tests.builders import submit


def test_pages_follow_the_cursor_without_gaps_or_repeats(world: World) -> None:
    for i in range(23):
        world.app.clock.now += timedelta(seconds=1)  # type: ignore[attr-defined]
        submit(world.app, email=f"page{i}@client.example")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = world.client.get("/api/v1/leads", params=params, headers=world.as_("admin")).json()
        seen += [item["id"] for item in page["items"]]
        assert page["total"] == 26
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 26
    created = [item["created_at"] for item in
               world.client.get("/api/v1/leads", params={"limit": 1000}, headers=world.as_("admin")).json()["items"]]
    assert created == sorted(created, reverse=True)


def test_a_cursor_from_another_sort_is_refused(world: World) -> None:
    for i in range(3):
        submit(world.app, email=f"c{i}@client.example")
    page = world.client.get("/api/v1/leads", params={"limit": 2, "sort": "score"}, headers=world.as_("admin")).json()
    wrong = world.client.get("/api/v1/leads", params={"cursor": page["next_cursor"]}, headers=world.as_("admin"))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "cursor"


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_cursor_from_the_other_direction_is_refused(world: World) -> None:
    for i in range(3):
        submit(world.app, email=f"c{i}@client.example")
    page = world.client.get("/api/v1/leads", params={"limit": 2, "sort": "created_at"}, headers=world.as_("admin")).json()
    wrong = world.client.get("/api/v1/leads", params={"cursor": page["next_cursor"], "sort": "-created_at"},
                             headers=world.as_("admin"))  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "cursor"
    right = world.client.get("/api/v1/leads", params={"cursor": page["next_cursor"], "sort": "created_at"},
                             headers=world.as_("admin"))  # fmt: skip
    assert right.status_code == 200 and len(right.json()["items"]) == 4


LEAD = "01935630-ea4e-7034-b26d-a694e78bcb08"
FORGED = [  # (sort, what the cursor decodes to)
    ("created_at", {"order": "leads:created_at", "value": "2026-01-01T00:00:00", "id": LEAD}),
    ("created_at", {"order": "leads:created_at", "value": "2026-01-01T00:00:00+00:00", "id": {"a": 1}}),
    ("created_at", {"order": "leads:created_at", "value": "2026-01-01T00:00:00+00:00", "id": 7}),
    ("created_at", {"order": "leads:created_at", "value": "0001-01-01T00:00:00+05:00", "id": LEAD}),
    ("created_at", {"order": "leads:created_at", "value": 1767225600, "id": LEAD}),
    ("score", {"order": "leads:score", "value": "99999999999999999999999", "id": LEAD}),
    ("score", {"order": "leads:score", "value": "1e3", "id": LEAD}),
    ("score", {"order": "leads:-score", "value": "10", "id": LEAD}),
    ("score", {"order": "pool:created_at", "value": "2026-01-01T00:00:00+00:00", "id": LEAD}),
    ("score", {"order": "leads:score", "value": "10", "id": LEAD, "extra": 1}),
    # As cursors were before they named their direction, and as the reviewer forged them.
    ("created_at", ["created_at", "2026-01-01T00:00:00", LEAD]),
    ("score", ["score", 99999999999999999999999, LEAD]),
    ("created_at", ["created_at", "2026-01-01T00:00:00+00:00", {"a": 1}]),
    ("score", "not a list"),
]


@pytest.mark.parametrize(("sort", "payload"), FORGED)
def test_a_forged_or_stale_cursor_is_a_422_naming_the_cursor(world: World, sort: str, payload: object) -> None:
    response = world.client.get("/api/v1/leads", params={"sort": sort, "cursor": _cursor(payload)},
                                headers=world.as_("admin"))  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


def test_pages_by_score_follow_the_cursor_in_both_directions(world: World) -> None:
    for i in range(7):
        submit(world.app, email=f"s{i}@client.example")
    for sort in ("score", "-score"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = world.client.get("/api/v1/leads", params=params, headers=world.as_("admin")).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 10, sort


def test_updates_need_the_current_etag_and_never_overwrite_silently(world: World) -> None:
    url = f"/api/v1/leads/{world.leads['east']}"
    read = world.client.get(url, headers=world.as_("rep"))
    etag = read.headers["ETag"]
    missing = world.client.patch(url, json={"title": "CFO"}, headers=world.as_("rep"))
    assert missing.status_code == 428
    first = world.client.patch(url, json={"title": "CFO"}, headers={**world.as_("rep"), "If-Match": etag})
    assert first.status_code == 200 and first.json()["title"] == "CFO" and first.headers["ETag"] != etag
    stale = world.client.patch(url, json={"title": "CEO"}, headers={**world.as_("manager"), "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert world.client.get(url, headers=world.as_("rep")).json()["title"] == "CFO"


def test_only_profile_fields_may_be_patched(world: World) -> None:
    url = f"/api/v1/leads/{world.leads['east']}"
    etag = world.client.get(url, headers=world.as_("admin")).headers["ETag"]
    response = world.client.patch(url, json={"owner_id": "x"}, headers={**world.as_("admin"), "If-Match": etag})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "owner_id"


def test_a_refused_move_names_the_allowed_targets(world: World) -> None:
    url = f"/api/v1/leads/{world.leads['east']}/stage"
    refused = world.client.post(url, json={"to": "won"}, headers=world.as_("rep"))
    assert refused.status_code == 409 and "allowed" in refused.json()["detail"]
    moved = world.client.post(url, json={"to": "mql"}, headers=world.as_("rep"))
    assert moved.status_code == 200 and moved.json()["to_stage"] == "mql"
    timeline = world.client.get(f"/api/v1/leads/{world.leads['east']}/timeline", headers=world.as_("rep")).json()
    assert [e["to_stage"] for e in timeline["items"] if e["type"] == "stage_change"][-1] == "mql"


def test_bad_query_values_are_problems_naming_the_parameter(world: World) -> None:
    for params, field in (({"limit": 0}, "query.limit"), ({"stage": "nope"}, "stage"), ({"sort": "email"}, "sort"),
                          ({"owner_id": "nope"}, "owner_id")):
        response = world.client.get("/api/v1/leads", params=params, headers=world.as_("admin"))
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


def test_sla_reports_cover_what_the_caller_may_see(world: World) -> None:
    from leadfunnel.adapters.sql import tables as t
    from leadfunnel.domain.ids import new_id

    now = world.app.clock()
    with world.app.engine.begin() as conn:
        for lead, owner, team, seconds in (("east", "rep", "East", 120), ("west", "rep_west", "West", 7200)):
            conn.execute(t.sla_outcomes.insert().values(
                id=new_id(), lead_id=world.leads[lead], policy="all", owner_id=world.users[owner],
                team_id=world.teams[team], channel="paid_search", started_at=now, due_at=now, responded_at=now,
                response_seconds=seconds, status="met" if seconds < 3600 else "breached", reclaimed=False, at=now))

    def groups(who: str) -> dict[str, int]:
        rows = world.client.get("/api/v1/reports/sla", params={"by": "owner"}, headers=world.as_(who)).json()["rows"]
        return {row["group"]: row["clocks"] for row in rows}

    east, west = str(world.users["rep"]), str(world.users["rep_west"])
    assert groups("admin") == {east: 1, west: 1}
    assert groups("manager") == {east: 1}
    assert groups("rep_west") == {west: 1}
    assert world.client.get("/api/v1/reports/sla", headers=world.as_("marketer")).status_code == 403


def test_exports_hold_what_the_caller_may_see_and_neutralise_formulas(world: World) -> None:
    import csv
    import io

    submit(world.app, email="evil@client.example", company="=HYPERLINK(\"http://x\")")
    rows = {}
    for who in ("admin", "rep"):
        response = world.client.get("/api/v1/exports/leads", headers=world.as_(who))
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows[who] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    listed = world.client.get("/api/v1/leads", headers=world.as_("rep")).json()["items"]
    assert {r["email"] for r in rows["rep"]} == {lead["email"] for lead in listed}
    assert "west.buyer@client.example" not in {r["email"] for r in rows["rep"]}
    assert len(rows["admin"]) == 4 and len(rows["rep"]) == 3  # the new lead waits in the pool
    evil = next(r for r in rows["admin"] if r["email"] == "evil@client.example")
    assert evil["company"].startswith("'=")
    xlsx = world.client.get("/api/v1/exports/leads", params={"format": "xlsx"}, headers=world.as_("admin"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert world.client.get("/api/v1/exports/leads", params={"format": "pdf"},
                            headers=world.as_("admin")).status_code == 422


def test_a_behaviour_event_lands_on_the_lead_and_moves_its_last_touch(world: World) -> None:
    lead = world.leads["east"]
    before = world.client.get(f"/api/v1/leads/{lead}", headers=world.as_("rep")).json()
    world.app.clock.now += timedelta(hours=2)  # type: ignore[attr-defined]
    recorded = world.client.post(f"/api/v1/leads/{lead}/touchpoints", headers=world.as_("marketer"), json={
        "touchpoint_kind": "webinar", "landing_url": "https://example.com/webinar?utm_source=newsletter"})
    assert recorded.status_code == 201 and recorded.json()["lead_id"] == str(lead)
    after = world.client.get(f"/api/v1/leads/{lead}", headers=world.as_("rep")).json()
    assert after["last_touch_at"] > before["last_touch_at"] and after["last_utm_source"] == "newsletter"
    kinds = [e["kind"] for e in world.client.get(f"/api/v1/leads/{lead}/timeline", headers=world.as_("rep")).json()["items"]
             if e["type"] == "touchpoint"]
    assert kinds[-1] == "webinar"
    bad = world.client.post(f"/api/v1/leads/{lead}/touchpoints", json={"touchpoint_kind": "x", "email": "other@x.example"},
                            headers=world.as_("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


def test_a_rep_cannot_merge_into_or_learn_of_a_lead_they_may_not_change(world: World) -> None:
    # "west.buyer" belongs to the West rep: the East rep's submission of that email must
    # neither change the lead nor name it.
    west = world.leads["west"]
    before = world.client.get(f"/api/v1/leads/{west}", headers=world.as_("admin")).json()
    refused = world.client.post("/api/v1/leads", headers=world.as_("rep"),
                                json={"email": "west.buyer@client.example", "title": "Spy"})  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert str(west) not in refused.text
    after = world.client.get(f"/api/v1/leads/{west}", headers=world.as_("admin")).json()
    assert after["version"] == before["version"] and after["title"] == before["title"]
    timeline = world.client.get(f"/api/v1/leads/{west}/timeline", headers=world.as_("admin")).json()
    before_touches = [e for e in timeline["items"] if e["type"] == "touchpoint"]
    assert len(before_touches) == 1
    # their own lead merges as before, and an admin merges into anyone's
    own = world.client.post("/api/v1/leads", headers=world.as_("rep"),
                            json={"email": "east.buyer@client.example", "title": "CTO"})  # fmt: skip
    assert own.status_code == 200 and own.json()["lead_id"] == str(world.leads["east"])
    admin = world.client.post("/api/v1/leads", headers=world.as_("admin"),
                              json={"email": "west.buyer@client.example", "title": "CFO"})  # fmt: skip
    assert admin.status_code == 200 and admin.json()["lead_id"] == str(west)


def test_patched_fields_get_the_checks_and_normal_forms_intake_gives(world: World) -> None:
    url = f"/api/v1/leads/{world.leads['east']}"

    def patch(body: dict) -> object:
        etag = world.client.get(url, headers=world.as_("admin")).headers["ETag"]
        return world.client.patch(url, json=body, headers={**world.as_("admin"), "If-Match": etag})

    renamed = patch({"company": "ACME  Widgets, Inc."})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["company"] == "ACME Widgets, Inc."
    assert renamed.json()["company_key"] == "acme widgets"  # matching follows the new name
    cleared = patch({"company": None})
    assert cleared.json()["company"] is None and cleared.json()["company_key"] is None
    for body, field in (({"company_size": 20_000_000}, "company_size"),
                        ({"custom_fields": {"a": {"b": [1, 2]}}}, "custom_fields.a"),
                        ({"custom_fields": {"bad key": 1}}, "custom_fields")):  # fmt: skip
        refused = patch(body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["errors"][0]["field"] == field, body
