"""The lead 360 page in Chromium: what only a browser shows (the live SLA countdown)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from tests.web.conftest import Site, sign_in


def test_the_lead_page_counts_the_sla_down_by_the_second(page, site: Site):
    """A lead due in five minutes: the countdown starts near 5:00 (by the server's clock) and
    ticks down while the page is open."""
    app = build_app(Settings(database_url=site.db))
    try:
        with app.uow_factory() as uow:
            lead = uow.records.select_in("leads", "stage", ["lead"])[0]
            uow.leads.update(lead["id"], {"sla_due_at": datetime.now(UTC) + timedelta(minutes=5)})
            uow.commit()
    finally:
        app.close()
    sign_in(page, site, "admin", path=f"/leads/{lead['id']}")
    box = page.locator("#sla-countdown")
    first = int(box.get_attribute("data-left"))
    assert 280 <= first <= 300 and re.fullmatch(r"due in (4:[0-5]\d|5:00)", box.inner_text())
    page.wait_for_timeout(2100)
    assert int(box.get_attribute("data-left")) <= first - 2
