"""Dimension filters on the dashboard and the funnel explorer, in-process (a filtered
dashboard shows what the filtered API answers, the explorer's lists hold only matching
leads, filters live in the URL, ``where=DIMENSION:VALUE``, and are added by a redirect) and
in Chromium over the demo (a filter added with the form, then removed with its chip)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.lifecycle import move_lead
from tests.api.conftest import World, build_world
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_explorer_page import _cells, _total
from tests.web.test_pages import _browser

#: The world's leads: (channel, region, stages moved through).
LEADS = {
    "east": ("webinar", "EMEA", (Stage.MQL, Stage.SQL)),
    "west": ("webinar", "APAC", (Stage.MQL,)),
    "pool": ("email", "EMEA", ()),
}


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        with app.uow_factory() as uow:
            for name, (channel, region, _) in LEADS.items():
                uow.leads.update(built.leads[name], {"channel": channel, "region": region})
            uow.commit()
        for name, (_, _, stages) in LEADS.items():
            for stage in stages:
                move_lead(uow_factory=app.uow_factory, lead_id=built.leads[name], to=stage,
                          actor="test", now=app.clock())  # fmt: skip
        yield built


def _tiles(html: str) -> dict[str, str]:
    found = re.findall(r'data-kpi="(\w+)">\s*<span class="label">.*?</span>\s*<span class="value">(.*?)</span>', html, re.S)  # fmt: skip
    return {key: value.strip() for key, value in found}


def _funnel_table(html: str) -> dict[str, dict[str, str]]:
    """The dashboard's funnel table: per stage, each linked outcome's count and link."""
    table = re.search(r'<table class="grid" id="funnel-table">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for stage, body in re.findall(r'<tr data-stage="(\w+)">(.*?)</tr>', table, re.S):
        cells = {}
        for outcome, cell in re.findall(r'data-outcome="(\w+)">(.*?)</td>', body, re.S):
            link = re.search(r'href="([^"]+)"', cell)
            cells[outcome] = re.sub(r"<[^>]+>", "", cell).strip()
            cells[f"{outcome}_link"] = unescape(link.group(1)) if link else ""
        rows[stage] = cells
    return rows


def _chips(html: str) -> dict[str, str]:
    """The filter chips: ``DIMENSION:VALUE`` -> the URL without that filter."""
    found = re.findall(r'<li class="chip" data-where="([^"]+)">.*?<a href="([^"]+)"', html, re.S)
    return {unescape(where): unescape(url) for where, url in found}


def _api(world: World, path: str, **params: object) -> dict:
    response = world.client.get(f"/api/v1/analytics/{path}", params=params, headers=world.as_("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_filtered_dashboard_shows_what_the_filtered_kpi_and_funnel_api_answer(world: World) -> None:
    admin = _browser(world, "admin")
    today = world.app.clock().date()
    period = {"from": (today - timedelta(days=89)).isoformat(), "to": today.isoformat()}
    url = "/dashboard?where=channel:webinar&where=region:EMEA&where=region:APAC"
    page = admin.get(url)
    assert page.status_code == 200, page.text
    where = ["channel=webinar", "region=EMEA", "region=APAC"]
    kpis = _api(world, "kpis", where=where, **period)["groups"][0]
    tiles = _tiles(page.text)
    assert [tiles[k] for k in ("leads", "mql", "sql")] == [str(kpis[k]) for k in ("leads", "mql", "sql")]
    assert tiles["leads"] == "2"  # east and west: webinar, in EMEA or APAC; not the email lead
    assert _tiles(admin.get("/dashboard").text)["leads"] == "3"  # the filter is part of the question
    funnel = _api(world, "funnel", where=where, **period)["rows"]
    table = _funnel_table(page.text)
    assert {s: row["reached"] for s, row in table.items()} == {r["stage"]: str(r["reached"]) for r in funnel}
    assert re.findall(r"<tr><td>(\w+)</td>", page.text) == ["webinar"]  # the channel table
    assert page.text.count('data-unfiltered="1"') == 2  # SLA and open pipeline: not per lead
    # The same filters in another order: the same answer.
    again = admin.get("/dashboard?where=region:APAC&where=channel:webinar&where=region:EMEA").text
    assert _tiles(again) == tiles
    # Each count links to the explorer's list of exactly its leads, filters carried.
    drilled = admin.get(table["mql"]["reached_link"])
    assert drilled.status_code == 200 and _total(drilled.text) == 2
    assert parse_qs(urlsplit(table["mql"]["reached_link"]).query)["where"] == ["channel:webinar", "region:EMEA", "region:APAC"]  # fmt: skip


def test_filters_show_as_chips_whose_links_remove_one_and_keep_the_rest(world: World) -> None:
    admin = _browser(world, "admin")
    chips = _chips(admin.get("/dashboard?sort=cpl&where=channel:webinar&where=region:EMEA").text)
    assert set(chips) == {"channel:webinar", "region:EMEA"}
    kept = parse_qs(urlsplit(chips["region:EMEA"]).query)
    assert kept["where"] == ["channel:webinar"] and kept["sort"] == ["cpl"]
    assert _tiles(admin.get(chips["region:EMEA"]).text)["leads"] == "2"
    assert _tiles(admin.get(chips["channel:webinar"]).text)["leads"] == "2"  # east and pool
    explorer = _chips(admin.get("/explorer?steps=lead,mql&by=channel&where=region:EMEA").text)
    query = parse_qs(urlsplit(explorer["region:EMEA"]).query)
    assert "where" not in query and query["by"] == ["channel"] and query["steps"] == ["lead,mql"]


def test_the_explorer_drill_list_under_a_filter_lists_only_matching_leads(world: World) -> None:
    admin = _browser(world, "admin")
    rows = _cells(admin.get("/explorer?where=region:EMEA").text)
    lead = next(r for r in rows if r["stage"] == "lead")
    assert lead["reached"] == "2"
    drilled = admin.get(lead["reached_link"]).text
    listed = set(re.findall(r'data-lead="([^"]+)"', drilled))
    assert listed == {str(world.leads["east"]), str(world.leads["pool"])}
    assert 'data-where="region:EMEA"' in drilled
    back = re.search(r'id="back" href="([^"]+)"|href="([^"]+)" id="back"', drilled)
    assert "where=region%3AEMEA" in unescape(back.group(1) or back.group(2))
    both = _cells(admin.get("/explorer?by=channel&where=region:EMEA&where=channel:webinar").text)
    assert {r["group"] for r in both} == {"webinar"}
    mql = next(r for r in both if r["stage"] == "mql")
    listed = re.findall(r'data-lead="([^"]+)"', admin.get(mql["reached_link"]).text)
    assert listed == [str(world.leads["east"])]


def test_the_add_a_filter_form_redirects_to_the_shareable_url(world: World) -> None:
    admin = _browser(world, "admin")
    added = admin.get("/explorer?steps=lead,mql&where=channel:webinar&where_dimension=region&where_value=EMEA",
                      follow_redirects=False)  # fmt: skip
    assert added.status_code == 303
    query = parse_qs(urlsplit(added.headers["location"]).query)
    assert query["where"] == ["channel:webinar", "region:EMEA"] and query["steps"] == ["lead,mql"]
    assert "where_value" not in query
    plain = admin.get("/dashboard?sort=roi&where_dimension=region&where_value=", follow_redirects=False)
    assert plain.status_code == 303 and "where=" not in plain.headers["location"]
    dashboard = admin.get("/dashboard?where_dimension=channel&where_value=webinar")
    assert dashboard.status_code == 200 and 'data-where="channel:webinar"' in dashboard.text
    assert 'name="where" value="channel:webinar"' in dashboard.text  # kept by the form's Apply


def test_a_custom_field_filter_counts_alike_on_both_pages(world: World) -> None:
    with world.app.uow_factory() as uow:
        uow.leads.update(world.leads["west"], {"custom_fields": {"plan": "gold"}})
        uow.commit()
    admin = _browser(world, "admin")
    assert _tiles(admin.get("/dashboard?where=custom.plan:gold").text)["leads"] == "1"
    rows = _cells(admin.get("/explorer?where=custom.plan:gold").text)
    assert next(r for r in rows if r["stage"] == "lead")["reached"] == "1"
    none = _tiles(admin.get("/dashboard?where=custom.plan:(none)").text)
    assert none["leads"] == "2"


@pytest.mark.parametrize("path", ["/dashboard", "/explorer", "/explorer/leads?step=lead"])
@pytest.mark.parametrize("where", ["colour:red", "channel", "channel:"])
def test_a_bad_filter_is_refused_naming_the_field(world: World, path: str, where: str) -> None:
    joiner = "&" if "?" in path else "?"
    page = _browser(world, "admin").get(f"{path}{joiner}where={where}")
    assert page.status_code == 422 and "where:" in page.text, page.text


def test_a_filter_added_with_the_form_narrows_the_explorer_and_its_chip_removes_it(page, site: Site):
    sign_in(page, site, "admin", path="/explorer?by=channel&top=4&from=2020-01-01")
    page.wait_for_selector("#explorer-chart[data-ready=true] .main-svg")
    firsts = page.locator("#explorer-table tbody tr[data-step='0']")
    channel = firsts.first.get_attribute("data-group")
    size = firsts.first.locator("td[data-outcome=reached]").inner_text()
    page.select_option("select[name=where_dimension]", "channel")
    page.fill("input[name=where_value]", channel)
    page.click("#add-filter button")
    page.wait_for_url("**where=channel%3A*")
    page.wait_for_selector("#explorer-chart[data-ready=true] .main-svg")
    screenshot(page, "explorer-filtered")
    assert page.locator("#filters .chip").count() == 1
    firsts = page.locator("#explorer-table tbody tr[data-step='0']")
    assert firsts.evaluate_all("rows => rows.map(r => r.dataset.group)") == [channel]
    assert firsts.first.locator("td[data-outcome=reached]").inner_text() == size
    page.click("#filters .chip .remove")
    page.wait_for_selector("#explorer-chart[data-ready=true] .main-svg")
    assert "where=" not in page.url and page.locator("#filters").count() == 0
    assert page.locator("#explorer-table tbody tr[data-step='0']").count() == 5
    page.goto(f"/dashboard?from=2020-01-01&where=channel:{channel}")  # the same form of filter
    page.wait_for_selector("#funnel-chart .main-svg")
    screenshot(page, "dashboard-filtered")
    assert page.locator("#filters .chip").count() == 1
    assert page.locator("#kpis [data-kpi=leads] .value").inner_text() == size
    assert page.locator("#channels tbody tr").count() == 1
