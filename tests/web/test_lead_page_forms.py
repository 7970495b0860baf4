"""The lead page in-process: the Move-stage list offers only the moves the lifecycle allows
from the lead's stage, and the SLA box names its state and deadline once each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage
from tests.api.conftest import World, build_world
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _offered(html: str) -> list[str]:
    form = html.split('id="stage-form"')[1].split("</form>")[0]
    return re.findall(r'<option value="(\w+)"', form)


@pytest.mark.parametrize("stage", [Stage.LEAD, Stage.NURTURE])
def test_move_stage_offers_only_the_allowed_moves(world: World, stage: Stage) -> None:
    with world.app.uow_factory() as uow:
        uow.leads.update(world.leads["east"], {"stage": stage.value})
        uow.commit()
    page = _browser(world, "admin").get(f"/leads/{world.leads['east']}")
    assert page.status_code == 200
    allowed = [s.value for s in DEFAULT_LIFECYCLE.allowed_from(stage)]
    assert allowed and _offered(page.text) == allowed
    assert "won" not in _offered(page.text)


@pytest.mark.parametrize(
    ("status", "shown"), [("due", "due "), ("met", "met · due "), ("breached", "breached · due ")]
)
def test_the_sla_box_says_due_once(world: World, status: str, shown: str) -> None:
    now = world.app.clock()
    lead_id = world.leads["east"]
    with world.app.uow_factory() as uow:
        uow.routing.put_sla({"lead_id": lead_id, "policy": "everyone", "owner_id": None,
                             "started_at": now, "due_at": now + timedelta(hours=1),
                             "responded_at": now if status == "met" else None,
                             "response_seconds": 60 if status == "met" else None,
                             "status": status, "reclaims": 0, "updated_at": now})  # fmt: skip
        uow.commit()
    page = _browser(world, "admin").get(f"/leads/{lead_id}").text
    box = re.search(r'<p id="sla"[^>]*>(.*?)</p>', page, re.S)
    assert box is not None
    text = " ".join(box.group(1).split())
    assert text.startswith(shown) and text.count("due") == 1, text
