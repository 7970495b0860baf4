"""A lead's won and lost follow its deals: a lead with an open deal is not moved there by hand
(the deal would stay in the open pipeline and the forecast); closing the deal moves it."""

from __future__ import annotations

import pytest

from leadfunnel.domain.errors import Conflict
from leadfunnel.services.lifecycle import move_lead
from tests.api.conftest import World


def _stage_of(world: World, lead: str) -> str:
    return world.client.get(
        f"/api/v1/leads/{world.leads[lead]}", headers=world.as_("admin")
    ).json()["stage"]


def _move_lead(world: World, lead: str, to: str, **extra: str):
    return world.client.post(f"/api/v1/leads/{world.leads[lead]}/stage", headers=world.as_("admin"),
                             json={"to": to, **extra})  # fmt: skip


def _opportunity(world: World, lead: str, *names: str) -> list[dict]:
    for to in ("mql", "sql"):
        assert _move_lead(world, lead, to).status_code == 200
    deals = []
    for name in names:
        response = world.client.post("/api/v1/opportunities", headers=world.as_("admin"),
                                     json={"lead_id": str(world.leads[lead]), "name": name, "amount": 5000})  # fmt: skip
        assert response.status_code == 201, response.text
        deals.append(response.json())
    assert _stage_of(world, lead) == "opportunity"
    return deals


@pytest.mark.parametrize(("to", "extra"), [("won", {}), ("lost", {"reason": "price"})])
def test_a_lead_with_an_open_deal_is_not_closed_by_hand(world: World, to: str, extra: dict) -> None:
    deal = _opportunity(world, "east", "ACME rollout")[0]
    refused = _move_lead(world, "east", to, **extra)
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "'ACME rollout' (qualification)" in detail and "pipeline" in detail
    assert _stage_of(world, "east") == "opportunity"
    stored = world.client.get(
        f"/api/v1/opportunities/{deal['id']}", headers=world.as_("admin")
    ).json()
    assert stored["stage"] == "qualification"


def test_closing_the_deal_moves_the_lead_instead(world: World) -> None:
    deal = _opportunity(world, "east", "ACME rollout")[0]
    won = world.client.post(f"/api/v1/opportunities/{deal['id']}/stage", json={"to": "won"},
                            headers={**world.as_("admin"), "If-Match": '"v1"'})  # fmt: skip
    assert won.status_code == 200
    assert _stage_of(world, "east") == "won"


def test_the_refusal_names_every_open_deal_and_ignores_closed_ones(world: World) -> None:
    first, _second = _opportunity(world, "east", "Deal one", "Deal two")
    lost = world.client.post(f"/api/v1/opportunities/{first['id']}/stage",
                             json={"to": "lost", "lost_reason": "timing"},
                             headers={**world.as_("admin"), "If-Match": '"v1"'})  # fmt: skip
    assert lost.status_code == 200 and _stage_of(world, "east") == "opportunity"
    with pytest.raises(Conflict, match="an open deal: 'Deal two'") as refused:
        move_lead(uow_factory=world.app.uow_factory, lead_id=world.leads["east"], to="won",
                  actor="test", now=world.app.clock())  # fmt: skip
    assert "Deal one" not in refused.value.message


def test_a_lead_without_deals_still_moves_by_hand(world: World) -> None:
    for to in ("mql", "sql", "opportunity", "won"):
        assert _move_lead(world, "east", to).status_code == 200, to
