"""The forecast's deals read the same from the DuckDB store and from PostgreSQL: pipeline
history in order, the lead's dimensions, the rep's category and next step; a caller's scope
keeps only their deals; leads read with their lifecycle; the sync picks up later moves."""

from __future__ import annotations

from datetime import date, timedelta

from leadfunnel.analytics.forecast_data import day_number
from leadfunnel.domain.access import SYSTEM
from leadfunnel.services.opportunities import move_opportunity, open_opportunity, update_opportunity
from tests.builders import submit


def _deal(app, email: str, name: str, amount: float, at):
    lead = submit(app, at=at, email=email, channel="webinar", product_interest="Suite").lead_id
    return open_opportunity(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=lead, name=name,
                            amount=amount, expected_close=date(2026, 3, 31), now=at)  # fmt: skip


def test_deals_and_their_history_read_the_same_on_every_backend(any_app):
    app = any_app
    now = app.clock()
    start = now - timedelta(days=40)
    won = _deal(app, "won@client.example", "Won deal", 12_000, start)
    move_opportunity(uow_factory=app.uow_factory, principal=SYSTEM, opportunity_id=won["id"], to="proposal",
                     expected_version=1, now=start + timedelta(days=5))  # fmt: skip
    move_opportunity(uow_factory=app.uow_factory, principal=SYSTEM, opportunity_id=won["id"], to="won",
                     expected_version=2, now=start + timedelta(days=9))  # fmt: skip
    open_deal = _deal(app, "open@client.example", "Open deal", 3_000, start + timedelta(days=20))
    update_opportunity(uow_factory=app.uow_factory, principal=SYSTEM, opportunity_id=open_deal["id"],
                       changes={"forecast_category": "best_case", "next_step": "Demo"}, expected_version=1,
                       now=start + timedelta(days=21))  # fmt: skip
    deals = {d.id: d for d in app.analytics.forecast_deals(now=now, owners=None)}
    assert set(deals) == {str(won["id"]), str(open_deal["id"])}
    closed = deals[str(won["id"])]
    assert [stage for _, stage in closed.history] == ["qualification", "proposal", "won"]
    assert closed.outcome == "won" and closed.amount == 12_000
    assert (closed.channel, closed.product) == ("webinar", "Suite")
    assert closed.expected_close == day_number(date(2026, 3, 31))
    assert closed.history[-1][0] - closed.history[0][0] == 9
    pending = deals[str(open_deal["id"])]
    assert (pending.outcome, pending.category, pending.next_step) == ("open", "best_case", "Demo")
    assert app.analytics.forecast_deals(now=now, owners=frozenset()) == []
    leads = app.analytics.forecast_deals(now=now, owners=None, subject="leads")
    assert len(leads) == 2 and {d.amount for d in leads} == {1.0}
    # A later move reaches the forecast through the incremental sync.
    move_opportunity(uow_factory=app.uow_factory, principal=SYSTEM, opportunity_id=open_deal["id"], to="proposal",
                     expected_version=2, now=now)  # fmt: skip
    again = {
        d.id: d for d in app.analytics.forecast_deals(now=now + timedelta(minutes=1), owners=None)
    }
    assert [stage for _, stage in again[str(open_deal["id"])].history] == [
        "qualification",
        "proposal",
    ]
