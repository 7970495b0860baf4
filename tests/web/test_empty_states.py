"""Pages with nothing to show say so instead of drawing empty axes and header-only tables:
the dashboard, the funnel explorer, the forecast and attribution, for a period without
leads (in-process), and the dashboard's charts in Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadfunnel.bootstrap import App
from tests.api.conftest import World, build_world
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser

EMPTY = "from=2030-01-01&to=2030-02-01"


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def test_a_dashboard_period_without_leads_shows_no_funnel_chart_or_table(world: World) -> None:
    page = _browser(world, "admin").get(f"/dashboard?{EMPTY}")
    assert page.status_code == 200
    assert 'id="funnel-empty"' in page.text and "No leads in this period." in page.text
    assert 'id="funnel-figure"' not in page.text and 'id="funnel-table"' not in page.text


def test_the_explorer_without_leads_shows_no_chart_or_table(world: World) -> None:
    page = _browser(world, "admin").get(f"/explorer?{EMPTY}")
    assert page.status_code == 200
    assert 'id="explorer-empty"' in page.text and "No leads in this period." in page.text
    assert 'id="explorer-figure"' not in page.text and 'id="explorer-table"' not in page.text


def test_a_forecast_without_deals_says_so_instead_of_a_chart(world: World) -> None:
    page = _browser(world, "admin").get("/forecast?period=2030-Q1")
    assert page.status_code == 200
    assert (
        'id="forecast-empty"' in page.text and "No deals to forecast in this period." in page.text
    )
    assert 'id="forecast-figure"' not in page.text and 'id="forecast-rows"' not in page.text


def test_attribution_without_conversions_shows_no_chart_or_table(world: World) -> None:
    page = _browser(world, "admin").get("/attribution?from=2030-01-01")
    assert page.status_code == 200
    assert 'id="attribution-empty"' in page.text and "No conversions in this period." in page.text
    assert 'id="attribution-figure"' not in page.text and 'id="economics"' not in page.text


def test_the_empty_states_speak_chinese(world: World) -> None:
    client = _browser(world, "admin")
    assert "此期间没有线索。" in client.get(f"/dashboard?{EMPTY}&lang=zh_Hans").text
    assert "此期间没有可预测的商机。" in client.get("/forecast?period=2030-Q1&lang=zh_Hans").text


def test_the_dashboard_draws_no_axes_for_a_period_without_leads(page, site: Site):
    sign_in(page, site, "admin", path=f"/dashboard?{EMPTY}")
    assert page.locator("#funnel-empty").is_visible()
    page.wait_for_selector("#trend-empty", state="visible")  # the twelve months have no lead
    assert page.locator("#trend-chart").is_hidden()
    assert page.locator(".main-svg").count() == 0
    screenshot(page, "dashboard-empty")


def test_the_dashboard_still_draws_both_charts_when_there_are_leads(page, site: Site):
    sign_in(page, site, "admin", path="/dashboard?from=2025-01-01")
    page.wait_for_selector("#trend-chart .main-svg")
    assert page.locator("#funnel-chart .main-svg").count() > 0
    assert page.locator("#trend-empty").is_hidden()
