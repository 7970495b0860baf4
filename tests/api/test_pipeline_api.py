"""Deals over HTTP: opening one moves its lead, kanban moves check the version and the
pipeline, winning or losing every deal closes the lead; campaigns record their costs."""

from __future__ import annotations

from tests.api.conftest import World


def _stage_of(world: World, lead: str, who: str = "admin") -> str:
    return world.client.get(f"/api/v1/leads/{world.leads[lead]}", headers=world.as_(who)).json()["stage"]


def _open(world: World, lead: str, who: str, name: str, amount: float = 10_000) -> dict:
    response = world.client.post("/api/v1/opportunities", headers=world.as_(who),
                                 json={"lead_id": str(world.leads[lead]), "name": name, "amount": amount})
    assert response.status_code == 201, response.text
    return response.json()


def _move(world: World, deal: dict, who: str, to: str, version: int, **extra):
    return world.client.post(f"/api/v1/opportunities/{deal['id']}/stage", headers={**world.as_(who),
                             "If-Match": f'"v{version}"'}, json={"to": to, **extra})


def _to_sql(world: World, lead: str) -> None:
    for to in ("mql", "sql"):
        assert world.client.post(f"/api/v1/leads/{world.leads[lead]}/stage", json={"to": to},
                                 headers=world.as_("admin")).status_code == 200


def test_a_deal_on_a_lead_not_yet_sales_qualified_leaves_its_stage_alone(world: World) -> None:
    _open(world, "east", "rep", "Early deal")
    assert _stage_of(world, "east") == "lead"  # lead -> opportunity is no lifecycle move


def test_a_deal_moves_through_the_pipeline_and_wins_its_lead(world: World) -> None:
    _to_sql(world, "east")
    deal = _open(world, "east", "rep", "ACME rollout")
    assert deal["stage"] == "qualification" and deal["probability"] == 0.1
    assert _stage_of(world, "east") == "opportunity"
    moved = _move(world, deal, "rep", "proposal", 1)
    assert moved.status_code == 200 and moved.headers["ETag"] == '"v2"' and moved.json()["probability"] == 0.35
    stale = _move(world, deal, "manager", "negotiation", 1)
    assert stale.status_code == 412
    assert _move(world, deal, "rep", "won", 2).status_code == 200
    assert _stage_of(world, "east") == "won"
    history = world.client.get(f"/api/v1/opportunities/{deal['id']}", headers=world.as_("rep")).json()["history"]
    assert [h["to_stage"] for h in history] == ["qualification", "proposal", "won"]
    closed = _move(world, deal, "rep", "negotiation", 3)
    assert closed.status_code == 409


def test_a_lost_deal_says_why_and_the_lead_is_lost_only_when_every_deal_is(world: World) -> None:
    _to_sql(world, "east")
    first = _open(world, "east", "admin", "Deal one")
    second = _open(world, "east", "admin", "Deal two")
    no_reason = _move(world, first, "admin", "lost", 1)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "lost_reason"
    assert _move(world, first, "admin", "lost", 1, lost_reason="price").status_code == 200
    assert _stage_of(world, "east") == "opportunity"
    assert _move(world, second, "admin", "lost", 1, lost_reason="timing").status_code == 200
    assert _stage_of(world, "east") == "lost"


def test_deal_lists_follow_the_lead_scope(world: World) -> None:
    _open(world, "east", "admin", "East deal")
    _open(world, "west", "admin", "West deal")

    def names(who: str) -> set[str]:
        return {d["name"] for d in world.client.get("/api/v1/opportunities", headers=world.as_(who)).json()["items"]}

    assert names("admin") == names("marketer") == {"East deal", "West deal"}
    assert names("manager") == names("rep") == {"East deal"}
    assert names("rep_west") == {"West deal"}


def test_campaign_costs_are_recorded_replaced_and_summed(world: World) -> None:
    created = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                                json={"name": "Spring expo", "channel": "Trade_Show", "currency": "eur"})
    assert created.status_code == 201 and created.json()["channel"] == "trade_show"
    campaign = created.json()["id"]
    for day, amount in (("2026-03-01", 100), ("2026-03-02", 40.25), ("2026-03-01", 150)):
        put = world.client.put(f"/api/v1/campaigns/{campaign}/costs/{day}", json={"amount": amount, "currency": "EUR"},
                               headers=world.as_("marketer"))
        assert put.status_code == 200, put.text
    listed = world.client.get("/api/v1/campaigns", headers=world.as_("manager")).json()["items"]
    assert [(float(c["cost"]), c["cost_days"]) for c in listed if c["name"] == "Spring expo"] == [(190.25, 2)]
    twice = world.client.post("/api/v1/campaigns", headers=world.as_("admin"),
                              json={"name": "Spring expo", "channel": "webinar"})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "name"


def test_accounts_and_their_contacts_are_created_once(world: World) -> None:
    created = world.client.post("/api/v1/accounts", json={"name": "ACME Widgets, Inc.", "domain": "ACME.example"},
                                headers=world.as_("marketer"))
    assert created.status_code == 201 and created.json()["domain"] == "acme.example"
    again = world.client.post("/api/v1/accounts", json={"name": "ACME", "domain": "acme.example"},
                              headers=world.as_("admin"))
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "domain"
    account = created.json()["id"]
    contact = world.client.post(f"/api/v1/accounts/{account}/contacts", headers=world.as_("marketer"),
                                json={"email": " Jo.Buyer@ACME.example ", "first_name": "Jo", "phone": "(415) 555-2671"})
    assert contact.status_code == 201 and contact.json()["email"] == "jo.buyer@acme.example"
    assert contact.json()["phone"] == "+14155552671"
    shown = world.client.get(f"/api/v1/accounts/{account}", headers=world.as_("admin")).json()
    assert [c["first_name"] for c in shown["contacts"]] == ["Jo"]
    # No lead links to it yet: a rep does not see it, so cannot add to it either.
    assert world.client.post(f"/api/v1/accounts/{account}/contacts", json={"email": "x@acme.example"},
                             headers=world.as_("rep")).status_code == 404
