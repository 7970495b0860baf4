"""Deals over HTTP: opening one moves its lead, kanban moves check the version and the
pipeline, winning or losing every deal closes the lead; campaigns record their costs."""

from __future__ import annotations

import base64
import json

import pytest

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
    assert stale.json()["detail"].startswith(f"deal {deal['id']} changed since you read it")
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


def test_a_campaigns_cost_lands_in_the_channel_its_leads_are_in(world: World) -> None:
    # The world's leads came in from a cpc landing page: channel paid_search.
    created = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                                json={"name": "API Camp", "channel": "Paid Search"})
    assert created.status_code == 201 and created.json()["channel"] == "paid_search"
    put = world.client.put(f"/api/v1/campaigns/{created.json()['id']}/costs/2026-03-01",
                           json={"amount": 60, "currency": "USD"}, headers=world.as_("marketer"))
    assert put.status_code == 200, put.text
    kpis = world.client.get("/api/v1/analytics/kpis", params={"by": "channel"}, headers=world.as_("admin")).json()
    assert [(g["group"], g["leads"], g["cost"]) for g in kpis["groups"]] == [("paid_search", 3, 60.0)]
    bad = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                            json={"name": "Odd", "channel": "paid/search"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channel"
    assert "not a channel name" in bad.json()["errors"][0]["message"]


@pytest.mark.parametrize("code", ["QQQ", "XYZ", "usdd", "€"])
def test_campaigns_and_costs_take_only_iso_4217_currencies(world: World, code: str) -> None:
    created = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                                json={"name": "Autumn", "channel": "webinar", "currency": code})
    assert created.status_code == 422 and created.json()["errors"][0]["field"] == "currency"
    campaign = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                                 json={"name": "Winter", "channel": "webinar", "currency": "chf"}).json()
    assert campaign["currency"] == "CHF"
    put = world.client.put(f"/api/v1/campaigns/{campaign['id']}/costs/2026-03-01",
                           json={"amount": 5, "currency": code}, headers=world.as_("marketer"))
    assert put.status_code == 422 and put.json()["errors"][0]["field"] == "currency"


def test_a_cost_in_another_currency_or_too_far_ahead_is_refused(world: World) -> None:
    campaign = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                                 json={"name": "Dollars", "channel": "webinar"}).json()
    costs = f"/api/v1/campaigns/{campaign['id']}/costs"
    euros = world.client.put(f"{costs}/2026-03-01", json={"amount": 50, "currency": "EUR"},
                             headers=world.as_("marketer"))
    assert euros.status_code == 422 and euros.json()["errors"][0]["field"] == "currency"
    assert "USD" in euros.json()["errors"][0]["message"]
    # The clock says 2026-03-02: a budgeted day up to a year ahead is fine, beyond is not.
    ahead = world.client.put(f"{costs}/2027-03-02", json={"amount": 10, "currency": "USD"},
                             headers=world.as_("marketer"))
    assert ahead.status_code == 200, ahead.text
    for day in ("2027-03-03", "2099-01-01"):
        far = world.client.put(f"{costs}/{day}", json={"amount": 10, "currency": "USD"},
                               headers=world.as_("marketer"))
        assert far.status_code == 422 and far.json()["errors"][0]["field"] == "day"
        assert day in far.json()["errors"][0]["message"]
    listed = world.client.get("/api/v1/campaigns", headers=world.as_("manager")).json()["items"]
    assert [(float(c["cost"]), c["cost_days"]) for c in listed if c["name"] == "Dollars"] == [(10.0, 1)]
    # a cost without a currency is in its campaign's, whatever that is
    yen = world.client.post("/api/v1/campaigns", headers=world.as_("marketer"),
                            json={"name": "Yen", "channel": "webinar", "currency": "JPY"}).json()  # fmt: skip
    plain = world.client.put(f"/api/v1/campaigns/{yen['id']}/costs/2026-03-01", json={"amount": 900},
                             headers=world.as_("marketer"))  # fmt: skip
    assert plain.status_code == 200 and plain.json()["currency"] == "JPY", plain.text


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


def _pages(world: World, path: str, limit: int) -> tuple[list[dict], list[dict]]:
    """Every item of a list by following its cursor, and the pages without their items."""
    items: list[dict] = []
    pages: list[dict] = []
    cursor = None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = world.client.get(path, params=params, headers=world.as_("admin"))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page.pop("items")
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def test_deal_and_account_pages_have_the_documented_shape_and_follow_their_cursor(world: World) -> None:
    for i in range(5):
        _open(world, "east", "admin", f"Deal {i}")
        assert world.client.post("/api/v1/accounts", json={"name": f"Company {i}"},
                                 headers=world.as_("admin")).status_code == 201  # fmt: skip
    for path, named in (("/api/v1/opportunities", {f"Deal {i}" for i in range(5)}),
                        ("/api/v1/accounts", {f"Company {i}" for i in range(5)})):  # fmt: skip
        items, pages = _pages(world, path, limit=2)
        assert all(set(page) == {"total", "limit", "next_cursor"} and page["limit"] == 2 for page in pages)
        assert {item["name"] for item in items} >= named and len(items) == len({i["id"] for i in items})
        assert len(items) == pages[0]["total"]


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


DEAL = "01935630-ea4e-7034-b26d-a694e78bcb08"


@pytest.mark.parametrize("payload", [
    ["2026-01-01T00:00:00", DEAL],  # a time without its UTC offset
    ["2026-01-01", DEAL],
    ["2026-01-01T00:00:00+00:00", 7],  # an id that is not a UUID
    ["2026-01-01T00:00:00+00:00", {"a": 1}],
    [1767225600, DEAL],
    {"order": "", "value": "20260101T000000", "id": DEAL},
    {"order": "leads:-created_at", "value": "2026-01-01T00:00:00+00:00", "id": DEAL},
    ["created_at", "2026-01-01T00:00:00+00:00", DEAL],
])
@pytest.mark.parametrize("path", ["/api/v1/opportunities", "/api/v1/accounts"])
def test_a_forged_deal_or_account_cursor_is_a_422_naming_the_cursor(world: World, path: str, payload: object) -> None:
    response = world.client.get(path, params={"cursor": _cursor(payload)}, headers=world.as_("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_deals_cursor_holding_no_time_or_issued_by_another_list_is_a_422(world: World) -> None:
    for i in range(3):
        _open(world, "east", "admin", f"Deal {i}")
        assert world.client.post("/api/v1/accounts", json={"name": f"Company {i}"},
                                 headers=world.as_("admin")).status_code == 201  # fmt: skip
    accounts = world.client.get("/api/v1/accounts", params={"limit": 1}, headers=world.as_("admin")).json()
    for cursor in (_cursor({"order": "deals:-created_at", "value": "hello", "id": DEAL}),
                   accounts["next_cursor"]):  # fmt: skip
        response = world.client.get("/api/v1/opportunities", params={"cursor": cursor},
                                    headers=world.as_("admin"))  # fmt: skip
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "cursor"


def test_money_is_a_json_number_in_lists_and_single_answers_alike(world: World) -> None:
    deal = _open(world, "east", "admin", "Priced", amount=1234.5)
    listed = world.client.get("/api/v1/opportunities", headers=world.as_("admin")).json()["items"]
    single = world.client.get(f"/api/v1/opportunities/{deal['id']}", headers=world.as_("admin")).json()
    (row,) = [item for item in listed if item["id"] == deal["id"]]
    assert row["amount"] == single["amount"] == deal["amount"] == 1234.5
    campaign = world.client.post("/api/v1/campaigns", headers=world.as_("admin"),
                                 json={"name": "Fair", "channel": "trade_show", "cost_per_day": "99.90"})  # fmt: skip
    assert campaign.status_code == 201, campaign.text
    assert campaign.json()["cost_per_day"] == 99.9
    cost = world.client.put(f"/api/v1/campaigns/{campaign.json()['id']}/costs/2026-01-02",
                            headers=world.as_("admin"), json={"amount": "10.25"})  # fmt: skip
    assert cost.status_code == 200, cost.text
    assert cost.json()["amount"] == 10.25
    (listed_campaign,) = [c for c in world.client.get("/api/v1/campaigns", headers=world.as_("admin")).json()["items"]
                          if c["name"] == "Fair"]  # fmt: skip
    assert isinstance(listed_campaign["cost_per_day"], float)


def test_an_accounts_page_refuses_a_cursor_the_deals_list_issued(world: World) -> None:
    for i in range(3):
        _open(world, "east", "admin", f"Deal {i}")
    deals = world.client.get("/api/v1/opportunities", params={"limit": 1}, headers=world.as_("admin")).json()
    response = world.client.get("/api/v1/accounts", params={"cursor": deals["next_cursor"]},
                                headers=world.as_("admin"))  # fmt: skip
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "cursor"
