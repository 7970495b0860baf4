"""The shared pool over HTTP: the pool is a page like every list; a lost claim race is a 409."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from leadfunnel.services.pool import claim_lead
from tests.api.conftest import World
from tests.builders import submit


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _fill_pool(world: World, count: int) -> None:
    for i in range(count):
        world.app.clock.now += timedelta(seconds=1)  # type: ignore[attr-defined]
        submit(world.app, email=f"waiting{i}@client.example")


def test_the_whole_pool_is_paged_oldest_first_past_two_hundred_leads(world: World) -> None:
    _fill_pool(world, 240)  # and the world's own pool lead: 241 waiting
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        response = world.client.get("/api/v1/pool", params=params, headers=world.as_("rep"))
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "total", "limit", "next_cursor"}
        assert page["total"] == 241 and page["limit"] == 100
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len({item["id"] for item in seen}) == len(seen) == 241
    assert [(i["created_at"], i["id"]) for i in seen] == sorted(
        (i["created_at"], i["id"]) for i in seen
    )


def test_a_claim_between_two_pages_shifts_no_other_lead(world: World) -> None:
    _fill_pool(world, 4)
    first = world.client.get("/api/v1/pool", params={"limit": 2}, headers=world.as_("rep")).json()
    claimed = first["items"][0]["id"]
    assert (
        world.client.post(f"/api/v1/leads/{claimed}/claim", headers=world.as_("rep")).status_code
        == 200
    )
    rest = world.client.get("/api/v1/pool", params={"limit": 10, "cursor": first["next_cursor"]},
                            headers=world.as_("rep")).json()  # fmt: skip
    assert rest["total"] == 4 and rest["next_cursor"] is None
    remaining = world.client.get("/api/v1/pool", headers=world.as_("rep")).json()["items"]
    assert [i["id"] for i in first["items"][1:] + rest["items"]] == [i["id"] for i in remaining]


def test_pool_limits_and_cursors_are_checked_like_the_lead_list(world: World) -> None:
    leads_cursor = world.client.get("/api/v1/leads", params={"limit": 1, "sort": "created_at"},
                                    headers=world.as_("admin")).json()["next_cursor"]  # fmt: skip
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 1001}, "query.limit"),
                          ({"cursor": "not a cursor"}, "cursor"), ({"cursor": leads_cursor}, "cursor"),
                          ({"cursor": _cursor(["2026-01-01T00:00:00", str(world.leads["pool"])])}, "cursor"),
                          ({"cursor": _cursor({"order": "pool:created_at", "value": "2026-01-01T00:00:00",
                                               "id": str(world.leads["pool"])})}, "cursor"),
                          ({"cursor": _cursor({"order": "pool:created_at", "value": "2026-01-01T00:00:00+00:00",
                                               "id": 7})}, "cursor")):  # fmt: skip
        response = world.client.get("/api/v1/pool", params=params, headers=world.as_("manager"))
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_losing_a_claim_race_is_a_conflict_that_does_not_name_the_winner(world: World) -> None:
    lead_id = world.leads["pool"]
    real = world.app.uow_factory
    opened: list[bool] = []  # whether each unit of work the claim request opens writes

    def racing(*, write: bool = True, bulk: bool = False) -> Any:
        # The request reads and touches the API key, reads the lead (still in the pool), then
        # claims it: rep_west's claim commits just before that last write.
        if write and opened == [False, True, False]:
            claim_lead(uow_factory=real, lead_id=lead_id, rep_id=world.users["rep_west"],
                       now=world.app.clock(), actor="rep_west")  # fmt: skip
        opened.append(write)
        return real(write=write, bulk=bulk)

    world.app.uow_factory = racing  # type: ignore[assignment]
    try:
        lost = world.client.post(f"/api/v1/leads/{lead_id}/claim", headers=world.as_("rep"))
    finally:
        world.app.uow_factory = real
    assert opened[:4] == [False, True, False, True]
    assert lost.status_code == 409, lost.text
    problem = lost.json()
    assert problem["code"] == "conflict" and problem["title"] == "Conflict"
    assert "another rep claimed it first" in problem["detail"]
    assert str(world.users["rep_west"]) not in lost.text
    assert world.client.get(f"/api/v1/leads/{lead_id}", headers=world.as_("rep_west")).json()[
        "owner_id"
    ] == str(world.users["rep_west"])
