"""Attribution over HTTP: each caller's answer covers what they may see (without cost for
managers and reps), and a bad question is a problem+json naming the option."""

from __future__ import annotations

from tests.api.conftest import World
from tests.api.test_analytics_api import _move


def _attribution(world: World, who: str, **params: str):
    return world.client.get("/api/v1/analytics/attribution", params=params, headers=world.as_(who))


def test_credit_covers_what_the_caller_may_see(world: World) -> None:
    _move(world, "east", "mql")
    _move(world, "west", "mql")
    admin = _attribution(world, "admin", model="last_touch", conversion="mql", compare="linear")
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert (body["conversions"], body["journeys"]) == (2, 3)
    assert sum(g["conversions"] for g in body["groups"]) == 2
    assert set(body["comparison"]) == {"last_touch", "linear"}
    rep = _attribution(world, "rep_west", model="last_touch", conversion="mql").json()
    assert (rep["conversions"], rep["journeys"]) == (1, 1)
    assert all(g["cost"] is None for g in rep["groups"])


def test_a_bad_question_names_the_option(world: World) -> None:
    for params, field in (({"model": "w-shape"}, "model"), ({"conversion": "lead"}, "conversion"),
                          ({"lookback": "soon"}, "lookback"), ({"compare": "x"}, "compare")):  # fmt: skip
        response = _attribution(world, "admin", **params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.json()["detail"]
