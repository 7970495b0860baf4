"""The dashboard in-process: each role's tiles count the leads its reports cover, spend
stays with the roles that see every lead, the open-pipeline and SLA tiles, the trend."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from leadfunnel.bootstrap import App
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.pipeline import STAGE_PROBABILITY
from leadfunnel.entrypoints.api.app import create_api
from leadfunnel.services.opportunities import open_opportunity
from tests.api.conftest import World, build_world
from tests.builders import submit
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _tiles(html: str) -> dict[str, str]:
    found = re.findall(r'data-kpi="(\w+)">\s*<span class="label">.*?</span>\s*<span class="value">(.*?)</span>', html, re.S)
    return {key: value.strip() for key, value in found}


def test_each_role_sees_the_figures_of_its_own_leads(world: World) -> None:
    admin = _tiles(_browser(world, "admin").get("/dashboard").text)
    rep = _tiles(_browser(world, "rep").get("/dashboard").text)
    manager = _tiles(_browser(world, "manager").get("/dashboard").text)
    assert admin["leads"] == "3"  # every lead, the pool's too
    assert rep["leads"] == "1"  # the east lead, the rep's own
    assert manager["leads"] == "1"  # the East team owns only the east lead
    assert rep["cpl"] == "–" and manager["cac"] == "–"  # spend is not theirs alone


def test_the_open_pipeline_tile_sums_the_deals_the_viewer_may_see(world: World) -> None:
    now = world.app.clock()
    for lead, amount, stage in (("east", "1000", "qualification"), ("west", "3000", "proposal")):
        open_opportunity(uow_factory=world.app.uow_factory, principal=SYSTEM, lead_id=world.leads[lead],
                         name=f"{lead} deal", amount=amount, stage=stage, now=now)  # fmt: skip
    admin = _browser(world, "admin").get("/dashboard").text
    assert _tiles(admin)["open_pipeline"].replace(",", "").startswith("$4000")
    weighted = Decimal(1000) * Decimal(str(STAGE_PROBABILITY["qualification"])) + Decimal(3000) * Decimal(
        str(STAGE_PROBABILITY["proposal"])
    )
    detail = re.search(r'id="pipeline-detail">(.*?)</span>', admin, re.S).group(1)
    assert "2 open deals" in detail and f"${weighted:,.0f}" in detail
    rep = _browser(world, "rep").get("/dashboard").text
    assert _tiles(rep)["open_pipeline"].replace(",", "").startswith("$1000")


def test_sla_attainment_counts_the_clocks_started_in_the_period(world: World) -> None:
    now = world.app.clock()
    with world.app.uow_factory() as uow:
        for status, started in (("met", now), ("met", now), ("breached", now), ("breached", now - timedelta(days=200))):
            uow.routing.add_sla_outcome({
                "id": new_id(), "lead_id": world.leads["east"], "policy": "first response",
                "owner_id": world.users["rep"], "team_id": world.teams["East"], "channel": "webinar",
                "started_at": started, "due_at": started, "responded_at": started if status == "met" else None,
                "response_seconds": 60 if status == "met" else None, "status": status,
                "reclaimed": False, "at": started,
            })  # fmt: skip
        uow.commit()
    tiles = _tiles(_browser(world, "admin").get("/dashboard").text)
    assert tiles["sla_attainment"] == "66.7%"  # 2 met of 3 decided; the old breach is outside
    assert _tiles(_browser(world, "rep_west").get("/dashboard").text)["sla_attainment"] == "–"


def test_the_trend_has_a_point_per_creation_month(world: World) -> None:
    html = _browser(world, "admin").get("/dashboard?to=2026-03-31").text
    figure = json.loads(re.search(r'id="trend-figure">(.*?)</script>', html, re.S).group(1))
    assert [line["name"] for line in figure["data"]] == ["MQL", "SQL", "Won"]
    # The world's three leads were all created in March 2026: one cohort, nobody past lead yet.
    assert figure["data"][0]["x"] == ["2026-03-01"] and figure["data"][0]["y"] == [0.0]


def test_a_dashboard_is_answered_again_from_memory_until_the_data_changes(world: World) -> None:
    admin = _browser(world, "admin")
    remembered = world.api.state.answers
    remembered.slow = float("inf")  # however long it takes here, wait for the new answer
    assert _tiles(admin.get("/dashboard").text)["leads"] == "3"
    hits = remembered.hits
    assert _tiles(admin.get("/dashboard").text)["leads"] == "3"
    assert remembered.hits == hits + 1  # same question, same minute, same data
    submit(world.app, email="fourth@client.example")
    assert _tiles(admin.get("/dashboard").text)["leads"] == "4"  # the write changed the version
    assert remembered.hits == hits + 1


def test_a_slow_dashboard_shows_its_last_figures_with_their_time_while_new_ones_are_computed(world: World) -> None:
    admin = _browser(world, "admin")
    remembered = world.api.state.answers
    remembered.slow = 0.0  # every answer counts as slow to compute
    page = admin.get("/dashboard").text
    assert _tiles(page)["leads"] == "3" and "data-stale" not in page
    submit(world.app, email="fourth@client.example")
    page = admin.get("/dashboard").text
    assert _tiles(page)["leads"] == "3" and 'data-stale="1"' in page  # the figures before the write
    assert "Figures as of" in page
    assert remembered.wait_idle(30)
    page = admin.get("/dashboard").text
    assert _tiles(page)["leads"] == "4" and "data-stale" not in page


def test_a_warmed_server_answers_first_views_from_memory_and_a_managers_from_compiled_plans(
    app: App,
) -> None:
    world = build_world(app)
    signed_in = _browser(world, "admin")  # signing in writes: before the warm-up
    head = _browser(world, "manager")
    warmed = create_api(app, warm_dashboards=True)
    remembered = warmed.state.answers
    with TestClient(warmed, base_url="http://127.0.0.1", cookies=signed_in.cookies) as admin:
        deadline = time.monotonic() + 60  # the warm-up starts on its own thread
        while remembered.refreshes == 0 and time.monotonic() < deadline:
            remembered.wait_idle(1)
            time.sleep(0.05)
        # Admins and marketers share one dashboard; the explorer; a scope owning nothing,
        # which compiles the plans of every manager's and rep's dashboard.
        assert remembered.wait_idle(60) and remembered.refreshes == 3
        assert _tiles(admin.get("/dashboard").text)["leads"] == "3"
        assert admin.get("/explorer").status_code == 200
        assert (remembered.hits, remembered.misses) == (2, 0)
    plans = app.analytics.plans
    compiled = plans.misses
    with TestClient(warmed, base_url="http://127.0.0.1", cookies=head.cookies) as manager:
        assert manager.get("/dashboard").status_code == 200
    assert plans.misses == compiled  # a manager's first dashboard compiled nothing
