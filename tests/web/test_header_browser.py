"""The page header in Chromium: with the admin's menu (the longest) it wraps instead of
overflowing, on a laptop and on a phone, so "Sign out" and the language switch stay on
screen; and the page carries its own icon, so the browser asks for no /favicon.ico."""

from __future__ import annotations

import pytest

from tests.web.conftest import Site, screenshot, sign_in

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_admin_header_wraps_and_sign_out_stays_on_screen(page, site: Site, size: str):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, site, "admin", path="/rules")  # a page whose own content fits a phone
    inner = page.evaluate("window.innerWidth")
    assert page.locator("header.top").evaluate("h => h.scrollWidth") <= inner
    assert page.evaluate("document.documentElement.scrollWidth") <= inner
    for selector in ("#sign-out", "header.top .languages", "header nav a >> nth=-1"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner, selector
    chinese = page.locator("a[data-lang=zh_Hans]").bounding_box()
    assert chinese is not None and chinese["width"] > chinese["height"]  # one line, not a column
    screenshot(page, f"header-{size}")
    page.click("#sign-out")
    page.wait_for_url("**/login**")


def test_pages_carry_an_inline_icon_so_no_favicon_is_requested(page, site: Site):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, site, "admin", path="/leads")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None and icon.startswith("data:image/svg+xml,")
    assert not [url for url in asked if url.endswith("/favicon.ico")]
