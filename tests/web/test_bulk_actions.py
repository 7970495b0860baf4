"""Bulk actions on the leads list: each ticked lead is assigned, moved or exported on its
own terms; refused ones are listed with the reason and leave the others done."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from leadfunnel.bootstrap import App
from tests.api.conftest import World, build_world
from tests.builders import submit
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _bulk(client, **data):
    return client.post("/leads/bulk", data={"csrf": client.cookies["lf_csrf"], **data})


def _summary(html: str) -> tuple[int, int]:
    found = re.search(r'id="bulk-summary" data-done="(\d+)" data-refused="(\d+)"', html)
    assert found, html[:500]
    return int(found.group(1)), int(found.group(2))


def _lead(world: World, name: str) -> dict:
    with world.app.uow_factory(write=False) as uow:
        return uow.leads.get(world.leads[name])


def test_an_admin_assigns_a_pool_lead_and_hands_over_an_owned_one(world: World) -> None:
    admin = _browser(world, "admin")
    ids = [str(world.leads["pool"]), str(world.leads["west"])]
    page = _bulk(admin, action="assign", ids=ids, rep=str(world.users["rep"]))
    assert page.status_code == 200 and _summary(page.text) == (2, 0)
    for name in ("pool", "west"):
        lead = _lead(world, name)
        assert lead["owner_id"] == world.users["rep"] and not lead["in_pool"]
        assert lead["team_id"] == world.teams["East"]
    with world.app.uow_factory(write=False) as uow:
        handover = uow.routing.assignments_for(world.leads["west"])[-1]
    assert handover["from_owner_id"] == world.users["rep_west"] and handover["rule"] == "handover"
    again = _bulk(admin, action="assign", ids=[str(world.leads["west"])], rep=str(world.users["rep"]))
    assert _summary(again.text) == (0, 1) and "already owns it" in again.text


def test_a_manager_assigns_only_within_the_team(world: World) -> None:
    manager = _browser(world, "manager")
    refused = _bulk(manager, action="assign", ids=[str(world.leads["pool"])], rep=str(world.users["rep_west"]))
    assert refused.status_code == 403 and _lead(world, "pool")["in_pool"]
    page = _bulk(manager, action="assign", ids=[str(world.leads["pool"]), str(world.leads["west"])],
                 rep=str(world.users["rep"]))  # fmt: skip
    assert _summary(page.text) == (1, 1)  # the west lead is another team's: not found for them
    assert str(world.leads["west"]) in page.text and _lead(world, "west")["owner_id"] == world.users["rep_west"]


def test_a_rep_moves_own_leads_and_others_are_refused_with_the_reason(world: World) -> None:
    rep = _browser(world, "rep")
    page = _bulk(rep, action="move", to="mql", ids=[str(world.leads["east"]), str(world.leads["west"])])
    assert _summary(page.text) == (1, 1)
    assert _lead(world, "east")["stage"] == "mql" and _lead(world, "west")["stage"] == "lead"
    lost = _bulk(rep, action="move", to="disqualified", ids=[str(world.leads["east"])])
    assert _summary(lost.text) == (0, 1) and "reason" in lost.text
    assert 'id="bulk-rep"' not in rep.get("/leads").text  # reps do not assign


def test_export_writes_the_visible_ticked_leads_formula_safe(world: World) -> None:
    evil = submit(world.app, email="evil@client.example", company="=HYPERLINK(\"http://x\")").lead_id
    world.own("east", "rep")
    rep = _browser(world, "rep")
    response = _bulk(rep, action="export", ids=[str(world.leads["east"]), str(evil), str(world.leads["west"])])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))  # Excel wants the BOM
    # The rep sees their own lead and the pool (the new lead is in the pool); not the west lead.
    assert {r["id"] for r in rows} == {str(world.leads["east"]), str(evil)}
    exported = next(r for r in rows if r["id"] == str(evil))
    assert exported["company"].startswith("'=")


def test_bad_requests_are_refused_before_anything_changes(world: World) -> None:
    admin = _browser(world, "admin")
    assert _bulk(admin, action="move", to="mql").status_code == 422  # nothing ticked
    assert _bulk(admin, action="explode", ids=[str(world.leads["east"])]).status_code == 422
    assert _bulk(admin, action="assign", ids=[str(world.leads["east"])], rep="nobody").status_code == 422
    forged = admin.post("/leads/bulk", data={"action": "move", "to": "mql", "ids": [str(world.leads["east"])]})
    assert forged.status_code == 403 and _lead(world, "east")["stage"] == "lead"


def test_ticking_leads_in_the_browser_and_moving_them(page, site: Site):
    sign_in(page, site, "admin", path="/leads?stage=lead")
    page.locator("#leads tbody input.tick").nth(0).check()
    page.locator("#leads tbody input.tick").nth(1).check()
    page.select_option("#bulk-action", "move")
    assert page.locator("#bulk-rep").is_hidden()
    page.select_option("#bulk-to", "mql")
    page.click("#bulk-form button[type=submit]")
    page.wait_for_selector("#bulk-summary")
    assert page.locator("#bulk-summary").get_attribute("data-done") == "2"
    screenshot(page, "bulk-move")
