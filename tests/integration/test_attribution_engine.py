"""Attribution over the analytics store, on SQLite (DuckDB) and PostgreSQL: three leads of
two accounts whose credit is worked out by hand (docs/concepts/attribution.md's rules)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from leadfunnel.adapters.sql.tables import metadata
from leadfunnel.domain.access import Principal
from leadfunnel.domain.ids import new_id
from leadfunnel.services.attribution import run_attribution

OWNER = uuid.UUID("0190a000-0000-7000-8000-0000000000a1")
ACME = uuid.UUID("0190a000-0000-7000-8000-0000000000b1")
L1, L2, L3 = (uuid.UUID(f"0190a000-0000-7000-8000-0000000000c{i}") for i in (1, 2, 3))
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def day(month: int, d: int) -> datetime:
    return datetime(2025, month, d, 12, tzinfo=UTC)


#: lead -> (owner, account, created, stages, touches (channel, campaign, kind, at))
LEADS = {
    L1: (OWNER, ACME, day(1, 10), [("mql", day(1, 12)), ("sql", day(1, 15)),
                                   ("opportunity", day(1, 25)), ("won", day(2, 10))],
         [("ads", "Brand", "ad_click", day(1, 1)), ("search", None, "form_submit", day(1, 10)),
          ("email", "News", "email_click", day(1, 20)), ("ads", "Brand", "ad_click", day(3, 1))]),
    L2: (None, ACME, day(1, 5), [("mql", day(1, 6))],
         [("email", "News", "form_submit", day(1, 5))]),
    L3: (OWNER, None, day(2, 1), [],
         [("direct", None, "page_view", day(2, 1)), ("ads", "Brand", "ad_click", day(2, 3))]),
}  # fmt: skip


def write(app) -> None:
    campaigns = {name: new_id() for name in ("Brand", "News")}
    rows: dict[str, list[dict]] = {
        "users": [{"id": OWNER, "email": "rep@a.example", "name": "Rep", "role": "rep", "created_at": day(1, 1)}],
        "accounts": [{"id": ACME, "name": "Acme", "name_key": "acme", "created_at": day(1, 1), "updated_at": day(1, 1)}],
        "campaigns": [{"id": campaigns["Brand"], "name": "Brand", "channel": "ads", "currency": "USD", "created_at": day(1, 1)},
                      {"id": campaigns["News"], "name": "News", "channel": "email", "currency": "USD", "created_at": day(1, 1)}],
        "campaign_costs": [{"id": new_id(), "campaign_id": campaigns["Brand"], "day": date(2025, 1, 3), "amount": Decimal(300), "currency": "USD"},
                           {"id": new_id(), "campaign_id": campaigns["News"], "day": date(2025, 2, 3), "amount": Decimal(50), "currency": "USD"}],
        "leads": [], "stage_transitions": [], "touchpoints": [],
        "opportunities": [{"id": new_id(), "lead_id": L1, "account_id": ACME, "name": "Acme deal", "amount": Decimal(1000),
                           "currency": "USD", "stage": "won", "closed_at": day(2, 10), "created_at": day(1, 25),
                           "updated_at": day(2, 10), "version": 1}],
    }  # fmt: skip
    for lead, (owner, account, created, stages, touches) in LEADS.items():
        first = touches[0]
        rows["leads"].append({
            "id": lead, "external_id": f"x{lead.int}", "channel": first[0], "campaign": first[1],
            "owner_id": owner, "account_id": account, "source": "test", "custom_fields": {},
            "in_pool": owner is None, "stage": stages[-1][0] if stages else "lead",
            "stage_entered_at": stages[-1][1] if stages else created, "created_at": created,
            "updated_at": created, "version": 1,
        })  # fmt: skip
        previous = None
        for stage, at in [("lead", created), *stages]:
            rows["stage_transitions"].append({"id": new_id(), "lead_id": lead, "from_stage": previous,
                                              "to_stage": stage, "at": at, "actor": "test"})  # fmt: skip
            previous = stage
        for channel, campaign, kind, at in touches:
            rows["touchpoints"].append({
                "id": new_id(), "lead_id": lead, "kind": kind, "channel": channel,
                "campaign_id": campaigns.get(campaign or ""), "campaign": campaign, "at": at, "properties": {},
            })  # fmt: skip
    with app.engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(metadata.tables[table].insert(), values)


@pytest.fixture
def store(any_app):
    write(any_app)
    return any_app


def ask(app, **options):
    return run_attribution(engine=app.analytics, now=NOW, **options).to_dict()


def groups(result, key="conversions"):
    return {g["group"]: pytest.approx(g[key]) for g in result["groups"] if g["conversions"]}


def test_linear_credit_of_the_won_deal_skips_touches_after_the_win(store):
    result = ask(store, model="linear", conversion="won")
    assert (result["conversions"], result["revenue"], result["journeys"]) == (1, 1000.0, 3)
    assert groups(result) == {"ads": 1 / 3, "search": 1 / 3, "email": 1 / 3}
    assert groups(result, "revenue") == {"ads": 1000 / 3, "search": 1000 / 3, "email": 1000 / 3}


def test_u_shaped_anchors_on_the_first_and_the_lead_creating_touch(store):
    result = ask(store, model="u_shaped", conversion="won", by="campaign")
    assert groups(result, "revenue") == {"Brand": 400.0, "(none)": 400.0, "News": 200.0}


def test_lookback_and_the_mql_conversion(store):
    result = ask(store, model="linear", conversion="mql", lookback="5d")
    assert groups(result) == {"search": 1.0, "email": 1.0}
    assert result["revenue"] == 0 and result["unattributed"]["conversions"] == 0


def test_an_account_pools_its_leads_touches(store):
    result = ask(store, model="linear", conversion="won", level="account")
    assert groups(result, "revenue") == {"ads": 250.0, "email": 500.0, "search": 250.0}
    assert result["journeys"] == 2


def test_kinds_and_period_select_touches_and_leads(store):
    only_forms = ask(store, model="first_touch", conversion="mql", kinds=["form_submit"])
    assert groups(only_forms) == {"search": 1.0, "email": 1.0}
    february = ask(store, model="linear", conversion="won", period_from=date(2025, 2, 1))
    assert february["journeys"] == 1 and february["conversions"] == 0


def test_channel_economics_reuse_the_kpi_cost_and_lead_counts(store):
    (ads,) = [
        g for g in ask(store, model="linear", conversion="won")["groups"] if g["group"] == "ads"
    ]
    assert (ads["cost"], ads["leads"], ads["cpl"]) == (300.0, 1, 300.0)  # L1 came by ads
    assert ads["cac"] == pytest.approx(900.0)  # 300 for a third of a customer
    assert ads["roas"] == pytest.approx(1000 / 3 / 300)
    assert ads["roi"] == pytest.approx((1000 / 3 - 300) / 300)


def test_a_rep_sees_only_their_leads_and_no_cost(store):
    rep = Principal(user_id=OWNER, role="rep", name="rep")
    result = ask(store, model="linear", conversion="mql", principal=rep)
    assert result["journeys"] == 2  # L1 and L3; L2 is in the pool
    assert groups(result) == {"ads": 1 / 2, "search": 1 / 2}
    assert all(g["cost"] is None for g in result["groups"])


def test_markov_and_shapley_compare_on_the_same_journeys(store):
    result = ask(store, model="markov", conversion="mql", compare=["shapley", "last_touch"])
    assert list(result["comparison"]) == ["markov", "shapley", "last_touch"]
    for credits in result["comparison"].values():
        assert sum(c["conversions"] for c in credits.values()) == pytest.approx(2.0)
    assert set(result["removal_effects"]) == {"ads", "search", "email", "direct"}
    assert timedelta(0) < NOW - datetime(2025, 1, 1, tzinfo=UTC)
