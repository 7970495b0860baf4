"""The dashboard in Chromium against a real ``leadfunnel serve``: people of each role sign
in, find their leads, log an activity, get a refused move explained, drag a deal, read the
pages in Chinese. Every page is saved as a screenshot under test-artifacts/screens/, and no
request leaves 127.0.0.1 (the ``page`` fixture checks)."""

from __future__ import annotations

import re
import time

import pytest

from tests.web.conftest import Site, screenshot, sign_in

MENUS = {
    "admin": ["Dashboard", "Attribution", "Leads", "Pipeline", "Funnel explorer", "Forecast", "SLA board",
              "Rules", "Import"],
    "marketer": ["Dashboard", "Attribution", "Leads", "Pipeline", "Funnel explorer", "Forecast", "Rules",
                 "Import"],
    "rep": ["Dashboard", "Leads", "Pipeline", "Funnel explorer", "Forecast", "SLA board"],
}


def _menu(page) -> list[str]:
    return [text.strip() for text in page.locator("header nav a").all_inner_texts()]


def test_a_signed_out_visitor_signs_in_and_comes_back_to_the_page_they_asked_for(page, site: Site):
    page.goto("/leads?stage=mql")
    page.wait_for_url(re.compile(r"/login\?next="))
    screenshot(page, "login")
    page.fill("input[name=email]", site.people["admin"].email)
    page.fill("input[name=password]", "not the password at all")
    page.click("button[type=submit]")
    assert "wrong email or password" in page.locator("p.error").inner_text()
    sign_in(page, site, "admin", path="/leads?stage=mql")
    assert page.url.endswith("/leads?stage=mql")
    stages = set(page.locator("#leads tbody td:nth-child(4)").all_inner_texts())  # after the tick box
    assert stages == {"MQL"}


@pytest.mark.parametrize("who", sorted(MENUS))
def test_the_menu_follows_the_role_and_the_start_page_is_the_roles(
    page, site: Site, who: str
):
    sign_in(page, site, who, path="/pipeline")
    assert _menu(page) == MENUS[who]
    start = page.request.get("/", max_redirects=0)
    landing = "/leads" if who == "rep" else "/dashboard"  # reps start on their lead list
    assert start.status == 303 and start.headers["location"] == landing


def test_the_admin_dashboard_shows_kpi_tiles_and_draws_the_funnel(page, site: Site):
    sign_in(page, site, "admin", path="/dashboard?from=2025-01-01")
    page.wait_for_selector("#funnel-chart .main-svg")
    leads_tile = page.locator("[data-kpi=leads] .value").inner_text()
    first_step = page.locator("#funnel-table tbody tr").first
    assert first_step.get_attribute("data-stage") == "lead"
    assert first_step.locator("td").nth(1).inner_text() == leads_tile
    assert int(leads_tile.replace(",", "")) > 0
    assert page.locator("#channels tbody tr").count() > 1
    screenshot(page, "dashboard")


def test_a_rep_sees_only_own_and_pool_leads_and_a_dashboard_of_their_own(page, site: Site):
    rep = site.people["rep"]
    sign_in(page, site, "rep")
    owners = set(
        page.locator("#leads tbody tr").evaluate_all("rows => rows.map(r => r.dataset.owner)")
    )
    assert owners and owners <= {rep.user_id, "pool"}
    assert rep.user_id in owners
    screenshot(page, "leads-rep")
    page.goto("/leads?pool=owned")
    owned = int(page.locator("h1 .count").get_attribute("data-total"))
    page.goto("/dashboard?from=2000-01-01")
    page.wait_for_selector("#funnel-chart .main-svg")
    leads_tile = int(page.locator("[data-kpi=leads] .value").inner_text().replace(",", ""))
    assert leads_tile == owned > 0  # the rep's own leads, not the company's
    assert page.locator("[data-kpi=cpl] .value").inner_text() == "–"  # spend is not theirs
    screenshot(page, "dashboard-rep")


def test_logging_an_activity_puts_it_on_the_timeline(page, site: Site):
    sign_in(page, site, "rep", path="/leads?pool=owned")
    page.locator("#leads tbody tr a").first.click()
    page.wait_for_selector("#activity-form")
    subject = f"Discovery call {time.time_ns()}"
    page.select_option("#activity-form select[name=kind]", "call")
    page.fill("#activity-form input[name=subject]", subject)
    page.click("#activity-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=activity"))
    assert page.locator("p.notice").inner_text() == "Activity logged."
    newest = page.locator("#timeline li.activity").first
    assert subject in newest.inner_text()
    screenshot(page, "lead")


def test_a_refused_stage_move_shows_the_reason_next_to_the_form(page, site: Site):
    sign_in(page, site, "rep", path="/leads?pool=owned&stage=nurture")
    page.locator("#leads tbody tr a").first.click()
    # The list offers only the allowed moves; this one also needs a reason, left empty.
    offered = page.locator("#stage-form option").evaluate_all("os => os.map(o => o.value)")
    assert "won" not in offered
    page.select_option("#stage-form select[name=to]", "disqualified")
    page.click("#stage-form button[type=submit]")
    error = page.locator("#stage-error")
    assert "a reason is required when moving to 'disqualified'" in error.inner_text()
    assert page.locator("h1 .stage").inner_text() == "Nurture"
    screenshot(page, "lead-refused-move")


def _lane_of(page, deal_id: str) -> str:
    return page.locator(f'.deal[data-id="{deal_id}"]').evaluate(
        "card => card.closest('.lane').dataset.stage"
    )


def test_dragging_a_deal_moves_it_and_a_refused_drag_snaps_back(page, site: Site):
    sign_in(page, site, "admin", path="/pipeline")
    card = page.locator('.lane[data-stage="qualification"] .deal').first
    deal_id = card.get_attribute("data-id")
    before = int(
        page.locator('.lane[data-stage="proposal"] .lane-count').get_attribute("data-count")
    )
    card.drag_to(page.locator('.lane[data-stage="proposal"] .cards'))
    page.wait_for_selector("#kanban-status.notice")
    assert _lane_of(page, deal_id) == "proposal"
    assert page.locator('.lane[data-stage="proposal"] .lane-count').get_attribute(
        "data-count"
    ) == str(before + 1)
    stored = page.request.get(f"/api/v1/opportunities/{deal_id}").json()
    assert stored["stage"] == "proposal"

    # A card read before someone else moved the deal: the drag is refused and snaps back.
    stale = page.locator('.lane[data-stage="qualification"] .deal').first
    stale_id = stale.get_attribute("data-id")
    version = int(stale.get_attribute("data-version"))
    stale.evaluate("(card, v) => { card.dataset.version = String(v); }", version - 1 if version > 1 else version + 1)
    stale.drag_to(page.locator('.lane[data-stage="negotiation"] .cards'))
    page.wait_for_selector("#kanban-status.error")
    assert "changed since you read it" in page.locator("#kanban-status").inner_text()
    assert _lane_of(page, stale_id) == "qualification"
    assert page.request.get(f"/api/v1/opportunities/{stale_id}").json()["stage"] == "qualification"

    # Closed deals stay closed: their cards are not draggable and offer no move.
    won = page.locator('.lane[data-stage="won"] .deal').first
    assert won.get_attribute("draggable") == "false"
    assert won.locator(".move-to").count() == 0
    screenshot(page, "pipeline")


def test_the_sla_board_opens_for_the_admin(page, site: Site):
    sign_in(page, site, "admin", path="/sla")
    assert page.locator("h1").inner_text() == "SLA board"
    assert page.locator("#sla-table, #sla-empty").count() == 1
    screenshot(page, "sla")


def test_switching_to_chinese_changes_the_labels_and_is_remembered(page, site: Site):
    sign_in(page, site, "admin", path="/leads")
    assert page.locator("h1").inner_text().startswith("Leads")
    page.click("a[data-lang=zh_Hans]")
    page.wait_for_url(re.compile(r"lang=zh_Hans"))
    assert page.locator("h1").inner_text().startswith("线索")
    screenshot(page, "leads-zh")
    page.goto("/pipeline")
    assert page.locator("h1").inner_text() == "销售管道"
    assert page.locator("header nav a").first.inner_text() == "仪表盘"
    page.click("a[data-lang=en]")
    assert page.locator("h1").inner_text() == "Pipeline"


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_the_dashboard_tiles_equal_what_the_api_answers(page, site: Site, who: str):
    """The same person asks the API (with the page's session cookie) for the KPIs of the
    same period: every count and rate tile shows the API's figure."""
    sign_in(page, site, who, path="/dashboard?from=2025-06-01&to=2026-06-30")
    answer = page.request.get("/api/v1/analytics/kpis?from=2025-06-01&to=2026-06-30")
    assert answer.ok, answer.text()
    kpis = answer.json()["groups"][0]
    tiles = {
        key: page.locator(f"[data-kpi={key}] .value").inner_text()
        for key in ("leads", "mql", "sql", "win_rate", "share_responded_5m")
    }
    assert int(tiles["leads"].replace(",", "")) == kpis["leads"] > 0
    assert int(tiles["mql"].replace(",", "")) == kpis["mql"]
    assert int(tiles["sql"].replace(",", "")) == kpis["sql"]
    assert tiles["win_rate"] == f"{kpis['win_rate']:.1%}"
    assert tiles["share_responded_5m"] == f"{kpis['share_responded_5m']:.1%}"
