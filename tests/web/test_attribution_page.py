"""The attribution page: in-process (who may open it, what a question in the URL answers)
and in Chromium against ``leadfunnel serve`` over the demo (the comparison chart is drawn,
the economics table filled, the labels translated)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from leadfunnel.bootstrap import App
from tests.api.conftest import World, build_world
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser

COMPARED = 7  # pages/attribution.py COMPARED, the chosen model among them


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def test_admins_open_it_and_reps_are_refused(world: World) -> None:
    admin = _browser(world, "admin")
    page = admin.get("/attribution?model=markov&conversion=mql&by=campaign")
    assert page.status_code == 200
    # The world's leads have not reached MQL: the page says so instead of drawing axes.
    assert 'id="attribution-empty"' in page.text and "Markov chain" in page.text
    assert '<option value="campaign" selected>' in page.text
    refused = _browser(world, "rep").get("/attribution")
    assert refused.status_code == 403


def test_no_model_in_the_url_means_w_shaped(world: World) -> None:
    page = _browser(world, "admin").get("/attribution?from=&to=")
    assert page.status_code == 200
    assert '<option value="w_shaped" selected>' in page.text


@pytest.mark.parametrize(
    ("query", "value"),
    [("model=nonsense", "nonsense"), ("conversion=lead", "lead"), ("by=owner", "owner")],
)
def test_an_unknown_choice_in_the_url_is_refused_naming_it(
    world: World, query: str, value: str
) -> None:
    page = _browser(world, "admin").get(f"/attribution?{query}")
    assert page.status_code == 422 and f"&#39;{value}&#39; is not one of" in page.text


def test_a_bad_date_names_the_field(world: World) -> None:
    page = _browser(world, "admin").get("/attribution?from=2025-13-01")
    assert page.status_code == 422 and "2025-13-01" in page.text


def test_the_marketer_compares_models_in_a_chart_and_reads_channel_economics(page, site: Site):
    sign_in(page, site, "marketer", path="/attribution?model=shapley&conversion=mql")
    page.wait_for_selector("#attribution-chart .main-svg")
    traces = page.locator("#attribution-chart .legend .traces").count()
    assert traces == COMPARED
    rows = page.locator("#economics tbody tr[data-group]")
    assert rows.count() > 3
    credited = [
        float(t.replace(",", "")) for t in rows.locator("td:nth-child(2)").all_inner_texts()
    ]
    assert credited == sorted(credited, reverse=True) and credited[0] > 0
    summary = page.locator("#attribution-summary").inner_text()
    assert re.match(r"[\d,]+ conversions over [\d,]+ journeys", summary)
    screenshot(page, "attribution")
    page.select_option("#attribution-form select[name=model]", "markov")
    page.select_option("#attribution-form select[name=conversion]", "won")
    page.click("#attribution-form button[type=submit]")
    page.wait_for_url(re.compile(r"model=markov"))
    page.wait_for_selector("#attribution-chart .main-svg")
    assert "ROAS" in page.locator("#economics thead").inner_text()
    page.goto("/attribution?lang=zh_Hans")
    assert page.locator("h1").inner_text() == "归因分析"
    page.wait_for_selector("#attribution-chart .main-svg")
    screenshot(page, "attribution-zh")
