"""The SLA board's watch lists: open clocks due soon (overdue first), recent breaches and
reclaims, each person's own only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.domain.ids import new_id
from tests.api.conftest import World, build_world
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    now = app.clock()
    with app.uow_factory() as uow:
        for lead, owner, due in (("east", "rep", timedelta(minutes=30)), ("west", "rep_west", timedelta(minutes=-10)),
                                 ("pool", "rep", timedelta(hours=10))):  # fmt: skip
            uow.routing.put_sla({"lead_id": built.leads[lead], "policy": "fast", "owner_id": built.users[owner],
                                 "started_at": now - timedelta(hours=1), "due_at": now + due, "responded_at": None,
                                 "response_seconds": None, "status": "due", "reclaims": 0, "updated_at": now})  # fmt: skip
        for days_ago in (2, 30):
            at = now - timedelta(days=days_ago)
            uow.routing.add_sla_outcome({
                "id": new_id(), "lead_id": built.leads["east"], "policy": "fast", "owner_id": built.users["rep"],
                "team_id": built.teams["East"], "channel": "webinar", "started_at": at - timedelta(hours=1),
                "due_at": at, "responded_at": None, "response_seconds": None, "status": "breached",
                "reclaimed": True, "at": at,
            })  # fmt: skip
        uow.commit()
    with built.client:
        yield built


def _listed(html: str, section: str) -> list[str]:
    part = html.split(f'id="{section}"')[1].split("</section>")[0]
    return re.findall(r'<tr data-lead="([^"]+)"', part)


def test_the_admin_sees_what_is_due_soon_overdue_first_and_recent_breaches(world: World) -> None:
    board = _browser(world, "admin").get("/sla").text
    # The pool lead's clock is ten hours away: not due soon.
    assert _listed(board, "due-soon") == [str(world.leads["west"]), str(world.leads["east"])]
    assert "overdue by" in board.split('id="due-soon"')[1].split("</tr>")[1]
    # The breach of 30 days ago is outside the week.
    assert _listed(board, "recent-breached") == [str(world.leads["east"])]
    assert _listed(board, "recent-reclaimed") == [str(world.leads["east"])]


def test_a_rep_and_a_manager_see_only_their_clocks(world: World) -> None:
    rep = _browser(world, "rep").get("/sla").text
    assert _listed(rep, "due-soon") == [str(world.leads["east"])]
    rep_west = _browser(world, "rep_west").get("/sla").text
    assert _listed(rep_west, "due-soon") == [str(world.leads["west"])]
    assert _listed(rep_west, "recent-breached") == []
    manager = _browser(world, "manager").get("/sla").text  # the East team
    assert _listed(manager, "due-soon") == [str(world.leads["east"])]
