"""The forecast page in Chromium against a real ``leadfunnel serve`` on the demo data: the
range chart draws, the categories roll up, deal health lists the rep's own deals, and the
labels come in Chinese. Screens go to test-artifacts/screens/ like the other pages'."""

from __future__ import annotations

from tests.web.conftest import Site, screenshot, sign_in


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").replace("US", "").strip() or 0)


def test_the_admin_sees_the_range_chart_the_categories_and_deal_health(page, site: Site):
    sign_in(page, site, "admin", path="/forecast?by=team")
    page.wait_for_selector("#forecast-chart .main-svg")
    rows = page.locator("#forecast-rows tbody tr")
    assert rows.count() >= 2  # the teams and the company total
    total = rows.last
    assert total.get_attribute("data-group") == "all"
    p10, p50, p90 = (_money(total.locator("td").nth(i).inner_text()) for i in (4, 5, 6))
    assert 0 <= p10 <= p50 <= p90
    categories = page.locator("#forecast-categories tbody tr")
    assert [categories.nth(i).get_attribute("data-category") for i in range(4)] == [
        "closed_won", "commit", "best_case", "pipeline",
    ]  # fmt: skip
    amounts = [_money(categories.nth(i).locator("td").nth(1).inner_text()) for i in range(4)]
    assert amounts == sorted(amounts)  # cumulative roll-ups never shrink
    assert page.locator("#deal-health tbody tr[data-deal]").count() > 0
    screenshot(page, "forecast")


def test_a_rep_sees_only_their_own_deals_in_the_health_list(page, site: Site):
    sign_in(page, site, "rep", path="/forecast")
    page.wait_for_selector("#forecast-chart .main-svg")
    reps = set(page.locator("#deal-health tbody tr[data-deal] td:nth-child(2)").all_inner_texts())
    assert len(reps) <= 1  # their own name, or nothing when every deal of theirs is healthy
    assert (
        page.locator("header nav a[data-nav='/forecast']").get_attribute("aria-current") == "page"
    )


def test_the_forecast_page_speaks_chinese(page, site: Site):
    sign_in(page, site, "admin", path="/forecast?lang=zh_Hans")
    assert "预测" in page.locator("h1").inner_text()
    assert (
        page.locator("#forecast-categories tbody tr").first.locator("td").first.inner_text()
        == "已赢单"
    )
    screenshot(page, "forecast-zh")


def test_listed_deals_show_their_name_and_open_their_lead(page, site: Site):
    sign_in(page, site, "admin", path="/forecast")
    row = page.locator("#deal-health tbody tr[data-deal]").first
    deal_id = row.get_attribute("data-deal")
    stored = page.request.get(f"/api/v1/opportunities/{deal_id}").json()
    link = row.locator("td").first.locator("a")
    assert link.inner_text() == stored["name"]
    opens = f"/leads/{stored['lead_id']}" if stored["lead_id"] else "/pipeline"
    assert link.get_attribute("href") == opens
    flagged = page.locator("#forecast-flags tbody tr[data-deal] td:first-child a")
    assert flagged.count() == page.locator("#forecast-flags tbody tr[data-deal]").count()
    link.click()
    page.wait_for_url(f"**{opens}")
