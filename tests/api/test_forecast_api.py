"""The forecast over HTTP, and the deal fields it reads: a rep sets a deal's forecast
category and next step (If-Match guarded), the forecast shows the category against the
model and counts only the caller's deals; bad questions are problem+json naming the option."""

from __future__ import annotations

from tests.api.conftest import World


def _open(world: World, lead: str, who: str, name: str, amount: float = 10_000) -> dict:
    response = world.client.post("/api/v1/opportunities", headers=world.as_(who),
                                 json={"lead_id": str(world.leads[lead]), "name": name, "amount": amount})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


def _patch(world: World, deal: dict, who: str, version: int | None, **changes):
    headers = world.as_(who) | ({"If-Match": f'"v{version}"'} if version is not None else {})
    return world.client.patch(f"/api/v1/opportunities/{deal['id']}", headers=headers, json=changes)


def test_a_rep_sets_the_forecast_category_and_next_step_of_their_deal(world: World) -> None:
    deal = _open(world, "east", "rep", "ACME rollout")
    assert deal["forecast_category"] is None and deal["next_step"] is None
    changed = _patch(world, deal, "rep", 1, forecast_category="commit", next_step="  Send the order form ",
                     expected_close="2026-03-20")  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["forecast_category"], body["next_step"], body["expected_close"]) == (
        "commit", "Send the order form", "2026-03-20",
    )  # fmt: skip
    assert changed.headers["ETag"] == '"v2"'
    assert _patch(world, deal, "rep", 1, next_step="late").status_code == 412  # stale version
    assert _patch(world, deal, "rep", None, next_step="x").status_code == 428
    wrong = _patch(world, deal, "rep", 2, forecast_category="sure thing")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "forecast_category"
    assert _patch(world, deal, "rep_west", 2, next_step="mine now").status_code == 404
    assert _patch(world, deal, "rep", 2, forecast_category=None).json()["forecast_category"] is None


def test_the_forecast_shows_the_reps_call_next_to_the_model(world: World) -> None:
    deal = _open(world, "east", "rep", "Committed deal", amount=25_000)
    today = world.app.clock().date()
    assert (
        _patch(
            world, deal, "rep", 1, forecast_category="commit", expected_close=today.isoformat()
        ).status_code
        == 200
    )
    answer = world.client.get("/api/v1/forecast", headers=world.as_("rep"),
                              params={"period": f"{today:%Y-%m}", "draws": 500})  # fmt: skip
    assert answer.status_code == 200, answer.text
    data = answer.json()
    [mine] = [d for d in data["deals"] if d["id"] == deal["id"]]
    assert mine["category"] == "commit" and mine["in_period"]
    # No history to learn from yet: the model gives it nothing, so the call is flagged.
    assert mine["probability"] == 0 and "commit" in mine["disagreement"]
    commit = data["total"]["categories"]["commit"]
    assert (commit["amount"], commit["deals"], commit["model"]) == (25_000, 1, 0)
    # The other rep's forecast does not contain the deal.
    theirs = world.client.get(
        "/api/v1/forecast", headers=world.as_("rep_west"), params={"draws": 500}
    ).json()
    assert deal["id"] not in {d["id"] for d in theirs["deals"]}


def test_bad_forecast_questions_name_their_option(world: World) -> None:
    for params, field in (({"period": "2026-13"}, "period"), ({"by": "region"}, "by"),
                          ({"as_of": "2999-01-01"}, "as_of"), ({"probabilities": "gut"}, "probabilities"),
                          ({"subject": "accounts"}, "subject")):  # fmt: skip
        response = world.client.get("/api/v1/forecast", headers=world.as_("admin"), params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field
    backtest = world.client.get("/api/v1/forecast/backtest", headers=world.as_("admin"),
                                params={"unit": "week"})  # fmt: skip
    assert backtest.status_code == 422 and backtest.json()["errors"][0]["field"] == "unit"
    done = world.client.get("/api/v1/forecast/backtest", headers=world.as_("admin"),
                            params={"periods": 3, "draws": 100})  # fmt: skip
    assert done.status_code == 200 and done.json()["overall"]["group"] == "all"
