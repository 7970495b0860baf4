"""The funnel explorer: in-process (each role's funnel covers what it may see, every count
links to exactly its leads, bad questions name the parameter) and in Chromium over the demo
(a click on a bar opens the leads behind it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.lifecycle import move_lead
from tests.api.conftest import World, build_world
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _cells(html: str) -> list[dict[str, str]]:
    """The explorer table's rows: group, stage, and each outcome's count and link."""
    rows = []
    for tr in re.findall(r'<tr data-group="([^"]*)" data-stage="([^"]+)".*?</tr>', html, re.S):
        rows.append({"group": tr[0], "stage": tr[1]})
    bodies = re.findall(r'<tr data-group="[^"]*" data-stage="[^"]+".*?</tr>', html, re.S)
    for row, body in zip(rows, bodies, strict=True):
        for outcome, cell in re.findall(r'data-outcome="(\w+)">(.*?)</td>', body, re.S):
            link = re.search(r'href="([^"]+)"', cell)
            row[outcome] = re.sub(r"<[^>]+>", "", cell).strip()
            row[f"{outcome}_link"] = unescape(link.group(1)) if link else ""
    return rows


def _total(html: str) -> int:
    return int(re.search(r'class="count" data-total="(\d+)"', html).group(1))


def test_each_role_sees_the_funnel_of_the_leads_it_may_see(world: World) -> None:
    move_lead(uow_factory=world.app.uow_factory, lead_id=world.leads["east"], to=Stage.MQL,
              actor="test", now=world.app.clock())  # fmt: skip
    admin = _cells(_browser(world, "admin").get("/explorer").text)
    assert [(r["stage"], r["reached"]) for r in admin][:2] == [("lead", "3"), ("mql", "1")]
    # The rep owns the east lead only; the pool is nobody's result (domain/access.py).
    rep = _cells(_browser(world, "rep").get("/explorer").text)
    assert [(r["stage"], r["reached"]) for r in rep][:2] == [("lead", "1"), ("mql", "1")]
    rep_west = _cells(_browser(world, "rep_west").get("/explorer").text)
    assert [(r["stage"], r["reached"]) for r in rep_west][:2] == [("lead", "1"), ("mql", "0")]


def test_every_count_links_to_exactly_its_leads(world: World) -> None:
    move_lead(uow_factory=world.app.uow_factory, lead_id=world.leads["east"], to=Stage.MQL,
              actor="test", now=world.app.clock())  # fmt: skip
    admin = _browser(world, "admin")
    page = admin.get("/explorer?by=owner_id&steps=lead,mql")
    assert page.status_code == 200
    rows = _cells(page.text)
    assert {r["group"] for r in rows} == {str(world.users["rep"]), str(world.users["rep_west"]), "(none)"}
    for row in rows:
        for outcome in ("reached", "dropped", "open"):
            if row[outcome] == "0":
                continue
            drilled = admin.get(row[f"{outcome}_link"])
            assert drilled.status_code == 200, row[f"{outcome}_link"]
            assert _total(drilled.text) == int(row[outcome])
            assert drilled.text.count("<tr data-lead=") == int(row[outcome])
    rep_row = next(r for r in rows if r["group"] == str(world.users["rep"]) and r["stage"] == "mql")
    drilled = admin.get(rep_row["reached_link"]).text
    assert str(world.leads["east"]) in drilled and str(world.leads["west"]) not in drilled
    assert "rep" in drilled  # the owner's name, not the id


def test_a_rep_cannot_drill_into_leads_it_may_not_see(world: World) -> None:
    admin_rows = _cells(_browser(world, "admin").get("/explorer?by=owner_id").text)
    west = next(r for r in admin_rows if r["group"] == str(world.users["rep_west"]))
    drilled = _browser(world, "rep").get(west["reached_link"])
    assert drilled.status_code == 200 and _total(drilled.text) == 0
    assert str(world.leads["west"]) not in drilled.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("/explorer?mode=sideways", "mode"),
        ("/explorer?steps=lead,banana", "banana"),
        ("/explorer?window=soon", "window"),
        ("/explorer?by=shoe_size", "shoe_size"),
        ("/explorer?top=99&by=channel", "top"),
        ("/explorer?from=2026-03-01&to=2026-01-01", "from"),
        ("/explorer/leads?step=lead&value=webinar", "value"),
        ("/explorer/leads?step=lead&outcome=vanished", "vanished"),
    ],
)
def test_a_bad_question_is_refused_naming_the_parameter(world: World, query: str, named: str) -> None:
    page = _browser(world, "admin").get(query)
    assert page.status_code == 422 and named in page.text


def test_clicking_a_bar_opens_the_leads_behind_it(page, site: Site):
    sign_in(page, site, "admin", path="/explorer?by=channel&top=4&from=2020-01-01")
    page.wait_for_selector("#explorer-chart[data-ready=true] .main-svg")
    screenshot(page, "explorer")
    firsts = page.locator("#explorer-table tbody tr[data-step='0']")
    sizes = [int(t.replace(",", "")) for t in firsts.locator("td[data-outcome=reached]").all_inner_texts()]
    groups = firsts.evaluate_all("rows => rows.map(r => r.dataset.group)")
    assert groups[-1] == "other" and sizes[:-1] == sorted(sizes[:-1], reverse=True)
    bars = page.locator("#explorer-chart .trace.bars").first.locator(".point path")
    assert bars.count() == 5  # one bar per step
    target = bars.nth(1)  # the mql bar of the largest channel (drawn first, listed first)
    box = target.bounding_box()
    assert box is not None and box["height"] > 0
    row = page.locator("#explorer-table tbody tr[data-step='1']").first
    expected = int(row.locator("td[data-outcome=reached]").inner_text().replace(",", ""))
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/explorer/leads?**")
    assert "step=mql" in page.url
    assert int(page.locator("h1 .count").get_attribute("data-total")) == expected
    assert page.locator("#drill tbody tr").count() == min(expected, 50)
    screenshot(page, "explorer-drill")
