"""The pipeline without a mouse, in Chromium over the demo: Enter on a focused card opens its
Move-to control, and the keyboard alone moves the deal (stored, counted, focus kept)."""

from __future__ import annotations

from tests.web.conftest import Site, screenshot, sign_in


def _count(page, stage: str) -> int:
    return int(page.locator(f'.lane[data-stage="{stage}"] .lane-count').get_attribute("data-count"))


def _lane_of(page, deal_id: str) -> str:
    return page.locator(f'.deal[data-id="{deal_id}"]').evaluate(
        "card => card.closest('.lane').dataset.stage"
    )


def test_a_deal_moves_with_the_keyboard_alone(page, site: Site):
    sign_in(page, site, "admin", path="/pipeline")
    card = page.locator('.lane[data-stage="qualification"] .deal').last
    deal_id = card.get_attribute("data-id")
    before = _count(page, "negotiation")
    card.focus()
    page.keyboard.press("Enter")  # opens the card's Move-to control, focus on its stage list
    assert card.locator("details.move-to").evaluate("d => d.open")
    assert page.evaluate("document.activeElement.name") == "to"
    page.keyboard.press("ArrowDown")  # proposal (preselected) -> negotiation
    assert card.locator("select[name=to]").input_value() == "negotiation"
    page.keyboard.press("Tab")  # the lost reason
    page.keyboard.press("Tab")  # the Move button
    page.keyboard.press("Enter")
    page.wait_for_selector("#kanban-status.notice")
    assert _lane_of(page, deal_id) == "negotiation" and _count(page, "negotiation") == before + 1
    assert page.request.get(f"/api/v1/opportunities/{deal_id}").json()["stage"] == "negotiation"
    assert page.evaluate("document.activeElement.dataset.id") == deal_id
    # The control follows the card: negotiation is no longer offered, the version is new.
    moved = page.locator(f'.deal[data-id="{deal_id}"]')
    assert moved.locator('option[value="negotiation"]').get_attribute("disabled") is not None
    assert moved.locator("input[name=version]").input_value() == moved.get_attribute("data-version")
    screenshot(page, "pipeline-keyboard")


def test_losing_a_deal_by_keyboard_asks_for_the_reason_and_closes_the_card(page, site: Site):
    sign_in(page, site, "admin", path="/pipeline")
    card = page.locator('.lane[data-stage="proposal"] .deal').last
    deal_id = card.get_attribute("data-id")
    card.focus()
    page.keyboard.press("Enter")
    card.locator("select[name=to]").select_option("lost")
    card.locator("button[type=submit]").press("Enter")
    page.wait_for_selector("#kanban-status.error")  # no reason: nothing sent
    assert page.evaluate("document.activeElement.name") == "lost_reason"
    assert _lane_of(page, deal_id) == "proposal"
    page.keyboard.type("budget frozen")
    page.keyboard.press("Enter")  # submits the form from the reason field
    page.wait_for_selector("#kanban-status.notice")
    closed = page.locator(f'.deal[data-id="{deal_id}"]')
    assert _lane_of(page, deal_id) == "lost" and closed.get_attribute("draggable") == "false"
    assert closed.locator(".move-to").count() == 0
    stored = page.request.get(f"/api/v1/opportunities/{deal_id}").json()
    assert stored["stage"] == "lost" and stored["lost_reason"] == "budget frozen"
