"""Rep routing settings over the API: who sees which reps, who may change whose settings
(admins: any; managers: their team's), and refusals that name the setting."""

from __future__ import annotations

from tests.api.conftest import World


def _names(world: World, who: str) -> set[str]:
    response = world.client.get("/api/v1/reps", headers=world.as_(who))
    assert response.status_code == 200, response.text
    return {rep["name"] for rep in response.json()["items"]}


def test_each_role_sees_the_reps_it_works_with(world: World) -> None:
    assert _names(world, "admin") == {"rep", "rep_west"}
    assert _names(world, "manager") == {"rep"}  # the East team
    assert _names(world, "rep") == {"rep"}
    assert world.client.get("/api/v1/reps", headers=world.as_("marketer")).status_code == 403


def test_a_manager_sets_routing_for_the_team_only(world: World) -> None:
    url = f"/api/v1/reps/{world.users['rep']}"
    changed = world.client.patch(url, json={"max_open": 40, "skills": ["german"]}, headers=world.as_("manager"))
    assert changed.status_code == 200, changed.text
    [rep] = world.client.get("/api/v1/reps", headers=world.as_("manager")).json()["items"]
    assert (rep["max_open"], rep["skills"], rep["weight"]) == (40, ["german"], 1.0)  # the rest kept
    other = world.client.patch(f"/api/v1/reps/{world.users['rep_west']}", json={"max_open": 1},
                               headers=world.as_("manager"))  # fmt: skip
    assert other.status_code == 404  # another team's rep is not theirs to see
    own = world.client.patch(url, json={"max_open": 99}, headers=world.as_("rep"))
    assert own.status_code == 403
    with world.app.uow_factory(write=False) as uow:
        audit = [e for e in uow.audit.for_entity("user", world.users["rep"]) if e["action"] == "rep.profile_changed"]
    assert audit and audit[-1]["actor"].startswith("apikey:")  # who did it, not "admin"


def test_bad_settings_are_refused_naming_the_setting(world: World) -> None:
    url = f"/api/v1/reps/{world.users['rep']}"
    for body, named in (
        ({"weight": 0}, "weight"),
        ({"weight": None}, "weight"),
        ({"calendar": "Mars"}, "calendar"),
        ({"away": [["2026-03-05T09:00:00+00:00", "2026-03-04T09:00:00+00:00"]]}, "away"),
        ({"vacation": True}, "vacation"),
    ):
        response = world.client.patch(url, json=body, headers=world.as_("admin"))
        assert response.status_code == 422, (body, response.text)
        assert named in response.text
    assert world.client.patch("/api/v1/reps/not-a-uuid", json={}, headers=world.as_("admin")).status_code == 404
