"""The pages in-process (no browser): who may open what, CSRF on forms, safe redirects,
language negotiation, the SLA board's rows, and that the API's description is untouched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from leadfunnel.bootstrap import App
from leadfunnel.domain.ids import new_id
from leadfunnel.services.auth import set_password
from tests.api.conftest import PASSWORD, World, build_world


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _browser(world: World, who: str, **headers: str) -> TestClient:
    """A cookie-keeping client signed in through the login form as ``who``."""
    if who != "admin":  # the world gives only its admin a password
        set_password(uow_factory=world.app.uow_factory, email=f"{who}@corp.example",
                     password=PASSWORD, actor="test", now=world.app.clock())  # fmt: skip
    client = TestClient(world.api, base_url="http://127.0.0.1", headers=headers)
    signed = client.post("/login", data={"email": f"{who}@corp.example", "password": PASSWORD},
                         follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303, signed.text
    return client


def test_pages_stay_out_of_the_api_description(world: World) -> None:
    paths = world.api.openapi()["paths"]
    assert paths and all(path.startswith("/api/v1/") for path in paths)


def test_a_page_without_a_session_redirects_to_sign_in_and_back(world: World) -> None:
    response = world.client.get("/leads?stage=mql", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/leads%3Fstage%3Dmql"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example"])
def test_signing_in_never_redirects_off_site(world: World, target: str) -> None:
    client = TestClient(world.api, base_url="http://127.0.0.1")
    response = client.post("/login", data={"email": "admin@corp.example", "password": PASSWORD,
                                           "next": target}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert {"lf_session", "lf_csrf"} <= set(response.cookies)


def test_a_form_without_the_sessions_csrf_token_changes_nothing(world: World) -> None:
    rep = _browser(world, "rep")
    lead = world.leads["east"]
    refused = rep.post(f"/leads/{lead}/activities", data={"kind": "call", "subject": "forged"})
    assert refused.status_code == 403 and "forged" not in rep.get(f"/leads/{lead}").text
    token = rep.cookies["lf_csrf"]
    done = rep.post(
        f"/leads/{lead}/activities", data={"kind": "call", "subject": "real", "csrf": token}
    )
    assert done.status_code == 200 and "Activity logged." in done.text and "real" in done.text


def test_a_rep_cannot_open_a_lead_of_another_team(world: World) -> None:
    rep = _browser(world, "rep")
    assert rep.get(f"/leads/{world.leads['west']}").status_code == 404


def test_a_marketer_reads_a_lead_without_the_forms_that_change_it(world: World) -> None:
    marketer = _browser(world, "marketer")
    page = marketer.get(f"/leads/{world.leads['east']}")
    assert page.status_code == 200
    assert 'id="activity-form"' not in page.text and 'id="stage-form"' not in page.text
    assert marketer.get("/sla").status_code == 403


def test_the_sla_board_has_a_row_per_rep(world: World, app: App) -> None:
    now = app.clock()
    with app.uow_factory() as uow:
        for status, seconds in (("met", 120), ("met", 240), ("breached", None)):
            uow.routing.add_sla_outcome({
                "id": new_id(), "lead_id": world.leads["east"], "policy": "first response",
                "owner_id": world.users["rep"], "team_id": world.teams["East"], "channel": "webinar",
                "started_at": now - timedelta(hours=1), "due_at": now, "responded_at": now if seconds else None,
                "response_seconds": seconds, "status": status, "reclaimed": status == "breached", "at": now,
            })  # fmt: skip
        uow.commit()
    board = _browser(world, "admin").get("/sla").text
    row = board.split('id="sla-table"')[1].split("<tr>")[2]
    cells = [cell.split(">", 1)[1].split("<")[0] for cell in row.split("<td")[1:]]
    assert cells == ["rep", "3", "2", "1", "0", "66.7%", "3.0", "3.0", "1"]


def test_the_browsers_language_picks_chinese_and_the_switch_overrides_it(world: World) -> None:
    client = TestClient(world.api, base_url="http://127.0.0.1",
                        headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})  # fmt: skip
    assert "<h1>登录</h1>" in client.get("/login").text
    switched = client.get("/login?lang=en")
    assert "<h1>Sign in</h1>" in switched.text and switched.cookies["lang"] == "en"
    assert "<h1>Sign in</h1>" in client.get("/login").text


def test_plotly_is_served_from_the_installed_package(world: World) -> None:
    response = world.client.get("/static/plotly.min.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/javascript"
    )
    assert len(response.content) > 1_000_000
