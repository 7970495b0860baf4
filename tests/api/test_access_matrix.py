"""Every API route x every role x own / other-team / pool lead, generated from the route table:
a route nobody described here fails the test, so no new route escapes the policy."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from leadfunnel.adapters.sql import tables as t
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.ids import new_id
from leadfunnel.services.api_keys import create_api_key
from leadfunnel.services.crm import add_campaign
from leadfunnel.services.opportunities import open_opportunity
from leadfunnel.services.routing import import_rule_set, put_calendar
from leadfunnel.services.scoring_models import import_model
from tests.api.conftest import PERSONAS, World

LEADS = ("east", "west", "pool")
VISIBLE = {
    "admin": {"east", "west", "pool"},
    "marketer": {"east", "west", "pool"},
    "manager": {"east", "pool"},
    "rep": {"east", "pool"},
    "rep_west": {"west", "pool"},
}
WRITABLE = {
    "admin": {"east", "west", "pool"},
    "marketer": set(),
    "manager": {"east", "pool"},
    "rep": {"east"},
    "rep_west": {"west"},
}


def _version(world: World, lead: str) -> int:
    with world.app.uow_factory(write=False) as uow:
        row = uow.leads.get(world.leads[lead])
    assert row is not None
    return int(row["version"])


# (method, path) -> how to call it for a lead: (json body, extra headers) factories.
LeadCall = Callable[[World, str], dict[str, Any]]
LEAD_READS: dict[tuple[str, str], LeadCall] = {
    ("GET", "/api/v1/leads/{lead_id}"): lambda w, lead: {},
    ("GET", "/api/v1/leads/{lead_id}/timeline"): lambda w, lead: {},
}
LEAD_WRITES: dict[tuple[str, str], LeadCall] = {
    ("PATCH", "/api/v1/leads/{lead_id}"): lambda w, lead: {
        "json": {"title": "Head of Buying"},
        "headers": {"If-Match": f'"v{_version(w, lead)}"'},
    },
    ("POST", "/api/v1/leads/{lead_id}/stage"): lambda w, lead: {"json": {"to": "mql"}},
    ("POST", "/api/v1/leads/{lead_id}/activities"): lambda w, lead: {"json": {"kind": "call"}},
}


def _claim(who: str, lead: str) -> set[int]:
    if not who.startswith("rep"):
        return {403}
    if lead not in VISIBLE[who]:
        return {404}
    return {200} if lead == "pool" else {422}


def _assign(who: str, lead: str) -> set[int]:
    if who not in ("admin", "manager"):
        return {403}
    if lead not in VISIBLE[who]:
        return {404}
    return {200} if lead == "pool" else {422}


def _release(who: str, lead: str) -> set[int]:
    if not who.startswith("rep"):
        return {403}
    if lead not in VISIBLE[who]:
        return {404}
    return {200} if WRITABLE[who] == {lead} else {403}


def _touch(who: str, lead: str) -> set[int]:
    if lead not in VISIBLE[who]:
        return {404}
    return {201} if who == "marketer" or lead in WRITABLE[who] else {403}


# Pool actions on one lead: the request, and the statuses each persona may get per lead.
LEAD_ACTIONS: dict[tuple[str, str], tuple[LeadCall, Callable[[str, str], set[int]]]] = {
    ("POST", "/api/v1/leads/{lead_id}/claim"): (lambda w, lead: {}, _claim),
    ("POST", "/api/v1/leads/{lead_id}/assign"): (
        lambda w, lead: {"json": {"rep_id": str(w.users["rep"])}},
        _assign,
    ),
    ("POST", "/api/v1/leads/{lead_id}/release"): (
        lambda w, lead: {"json": {"reason": "wrong region"}},
        _release,
    ),
    ("POST", "/api/v1/leads/{lead_id}/touchpoints"): (
        lambda w, lead: {"json": {"touchpoint_kind": "page_view", "landing_url": "https://example.com/pricing"}},
        _touch,
    ),
}

# Routes that are not about one lead: the statuses each persona gets.
ALL = set(PERSONAS)
RULE_READERS = {"admin", "manager", "marketer"}
IMPORTERS = {"admin", "manager", "marketer"}
MODEL = {
    "name": "fit",
    "fit": [
        {"name": "big", "points": 20, "when": {"field": "company_size", "op": "ge", "value": 500}}
    ],
}
SLA = {"policy": [{"name": "all leads", "respond_within": "2h", "calendar": "24x7"}]}
ALWAYS = {
    "name": "24x7",
    "timezone": "UTC",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
ROUTING = {"rule": [{"name": "everyone", "team": "East"}]}
OTHER_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/v1/health"): {"ok": ALL, "call": {}},
    ("GET", "/api/v1/leads"): {"ok": ALL, "call": {}},
    ("POST", "/api/v1/leads"): {
        "ok": ALL - {"marketer"},
        "call": {"json": {"email": "new.buyer@client.example"}},
    },
    ("POST", "/api/v1/intake"): {
        "ok": ALL,
        "call": {"json": {"email": "form.fill@client.example"}},
    },
    ("GET", "/api/v1/auth/me"): {"ok": ALL, "call": {}},
    ("POST", "/api/v1/auth/logout"): {"ok": ALL, "call": {}},
    ("POST", "/api/v1/auth/login"): {
        "ok": ALL,
        "call": {
            "json": {"email": "admin@corp.example", "password": "correct horse battery staple"}
        },
    },
    ("GET", "/api/v1/users"): {"ok": {"admin", "manager"}, "call": {}},
    ("GET", "/api/v1/teams"): {"ok": {"admin", "manager"}, "call": {}},
    ("POST", "/api/v1/teams"): {
        "ok": {"admin"},
        "call": {},
        "fresh": lambda w, who: {"json": {"name": f"Team {who}"}},
    },
    ("GET", "/api/v1/pool"): {"ok": ALL - {"marketer"}, "call": {}},
    ("GET", "/api/v1/reports/sla"): {"ok": ALL - {"marketer"}, "call": {}},
    ("GET", "/api/v1/reps"): {"ok": ALL - {"marketer"}, "call": {}},
    ("PATCH", "/api/v1/reps/{user_id}"): {
        "ok": {"admin", "manager"}, "call": {"json": {"max_open": 40}}, "path": "east_rep",
    },
    ("POST", "/api/v1/users"): {
        "ok": {"admin"},
        "call": {"json": {"email": "x@corp.example", "name": "X", "role": "rep"}},
        "fresh": lambda w, who: {
            "json": {"email": f"new.{who}@corp.example", "name": "X", "role": "rep"}
        },
    },
    ("GET", "/api/v1/api-keys"): {"ok": {"admin"}, "call": {}},
    ("POST", "/api/v1/api-keys"): {
        "ok": {"admin"},
        "call": {"json": {"name": "k", "scopes": ["intake"]}},
    },
    ("DELETE", "/api/v1/api-keys/{key_id}"): {"ok": {"admin"}, "call": {}, "path": "spare_key"},
    # The pipeline: deals follow their lead; campaigns are marketing's.
    ("GET", "/api/v1/opportunities"): {"ok": ALL, "call": {}},
    ("POST", "/api/v1/opportunities"): {
        "ok": ALL - {"marketer"},
        "call": {},
        "fresh": lambda w, who: {
            "json": {
                "lead_id": str(w.leads["west" if who == "rep_west" else "east"]),
                "name": f"Deal {who}",
                "amount": 12000,
            }
        },
    },
    ("GET", "/api/v1/opportunities/{opportunity_id}"): {
        "ok": ALL - {"rep_west"},
        "call": {},
        "path": "east_deal",
        "hidden": {"rep_west"},
    },
    ("POST", "/api/v1/opportunities/{opportunity_id}/stage"): {
        "ok": {"admin", "manager", "rep"},
        "call": {},
        "path": "east_deal",
        "hidden": {"rep_west"},
        "fresh": lambda w, who: {"json": {"to": "proposal"}, "headers": {"If-Match": '"v1"'}},
    },
    ("PATCH", "/api/v1/opportunities/{opportunity_id}"): {
        "ok": {"admin", "manager", "rep"},
        "call": {},
        "path": "east_deal",
        "hidden": {"rep_west"},
        "fresh": lambda w, who: {
            "json": {"forecast_category": "commit", "next_step": "Send the contract"},
            "headers": {"If-Match": '"v1"'},
        },
    },
    ("GET", "/api/v1/accounts"): {"ok": ALL, "call": {}},
    ("POST", "/api/v1/accounts"): {
        "ok": {"admin", "marketer"}, "call": {}, "fresh": lambda w, who: {"json": {"name": f"Company {who}"}}},
    ("POST", "/api/v1/accounts/{account_id}/contacts"): {
        "ok": ALL - {"rep_west"}, "call": {}, "path": "east_account", "hidden": {"rep_west"},
        "fresh": lambda w, who: {"json": {"email": f"contact.{who}@client.example"}}},
    # Analytics: everyone asks, each about what they may see; company-wide stage reports are
    # for admins and marketers.
    ("GET", "/api/v1/analytics/funnel"): {"ok": ALL, "call": {"params": {"by": "channel"}}},
    ("GET", "/api/v1/analytics/funnel/drill"): {"ok": ALL, "call": {"params": {"step": "lead"}}},
    ("GET", "/api/v1/analytics/time-to-convert"): {"ok": ALL, "call": {}},
    ("GET", "/api/v1/analytics/time-in-stage"): {"ok": {"admin", "marketer"}, "call": {}},
    ("GET", "/api/v1/analytics/stagnant"): {"ok": {"admin", "marketer"}, "call": {}},
    ("GET", "/api/v1/analytics/kpis"): {"ok": ALL, "call": {"params": {"by": "channel"}}},
    ("GET", "/api/v1/analytics/attribution"): {
        "ok": ALL,
        "call": {"params": {"model": "w_shaped", "compare": "markov,shapley"}},
    },
    # The forecast: everyone asks, about the deals they may see.
    ("GET", "/api/v1/forecast"): {"ok": ALL, "call": {"params": {"by": "team", "draws": 200}}},
    ("GET", "/api/v1/forecast/backtest"): {
        "ok": ALL,
        "call": {"params": {"periods": 2, "draws": 100}},
    },
    ("GET", "/api/v1/exports/leads"): {"ok": ALL, "call": {}},
    ("GET", "/api/v1/accounts/{account_id}"): {
        "ok": ALL - {"rep_west"},
        "call": {},
        "path": "east_account",
        "hidden": {"rep_west"},
    },
    ("GET", "/api/v1/campaigns"): {"ok": {"admin", "manager", "marketer"}, "call": {}},
    ("POST", "/api/v1/campaigns"): {
        "ok": {"admin", "marketer"},
        "call": {},
        "fresh": lambda w, who: {"json": {"name": f"Spring expo {who}", "channel": "trade_show"}},
    },
    ("PUT", "/api/v1/campaigns/{campaign_id}/costs/{day}"): {
        "ok": {"admin", "marketer"},
        "call": {"json": {"amount": 250.5}},
        "path": "campaign_day",
    },
    # Rules: admins, managers and marketers read; admins and marketers change scoring models;
    # admins change routing, SLA policies and calendars; admins and managers replay routing.
    ("GET", "/api/v1/rules/scoring-models"): {"ok": RULE_READERS, "call": {}},
    ("POST", "/api/v1/rules/scoring-models/validate"): {
        "ok": {"admin", "marketer"},
        "call": {"json": MODEL},
    },
    ("POST", "/api/v1/rules/scoring-models"): {
        "ok": {"admin", "marketer"},
        "call": {"json": MODEL},
    },
    ("GET", "/api/v1/rules/scoring-models/{name}"): {
        "ok": RULE_READERS,
        "call": {},
        "path": "model",
    },
    ("POST", "/api/v1/rules/scoring-models/{name}/versions/{version}/dry-run"): {
        "ok": {"admin", "marketer"},
        "call": {},
        "path": "model_version",
    },
    ("POST", "/api/v1/rules/scoring-models/{name}/versions/{version}/activate"): {
        "ok": {"admin", "marketer"},
        "call": {},
        "path": "model_version",
    },
    ("GET", "/api/v1/rules/calendars"): {"ok": RULE_READERS, "call": {}},
    ("PUT", "/api/v1/rules/calendars"): {"ok": {"admin"}, "call": {"json": ALWAYS}},
    ("GET", "/api/v1/rules/{kind}"): {"ok": RULE_READERS, "call": {}, "path": "sla_kind"},
    ("POST", "/api/v1/rules/{kind}"): {"ok": {"admin"}, "call": {"json": SLA}, "path": "sla_kind"},
    ("POST", "/api/v1/rules/routing/versions/{version}/replay"): {
        "ok": {"admin", "manager"},
        "call": {},
        "path": "routing_version",
    },
    ("POST", "/api/v1/rules/{kind}/versions/{version}/activate"): {
        "ok": {"admin"},
        "call": {},
        "path": "sla_version",
    },
    # Imports: admins, managers and marketers; a job is seen by whoever started it (and admins),
    # so a manager or marketer asking for the admin's job is told it does not exist.
    ("POST", "/api/v1/imports/{kind}"): {
        "ok": IMPORTERS,
        "call": {"files": {"file": ("leads.csv", b"email\nimported@client.example\n", "text/csv")}},
        "path": "leads_kind",
    },
    ("GET", "/api/v1/imports/{job_id}"): {
        "ok": {"admin"},
        "call": {},
        "path": "admin_job",
        "hidden": IMPORTERS - {"admin"},
    },
    ("GET", "/api/v1/imports/{job_id}/errors"): {
        "ok": {"admin"},
        "call": {},
        "path": "admin_job",
        "hidden": IMPORTERS - {"admin"},
    },
}


def _path_values(world: World, kind: str | None) -> dict[str, object]:
    """Fresh path parameters for one call, so each persona acts on a thing of its own."""
    app, now = world.app, world.app.clock()
    if kind == "spare_key":
        return {
            "key_id": create_api_key(
                uow_factory=app.uow_factory,
                name="spare",
                user_email="admin@corp.example",
                scopes=["intake"],
                actor="test",
                now=now,
            ).id
        }
    if kind == "model":
        import_model(uow_factory=app.uow_factory, document=MODEL, actor="test", now=now)
        return {"name": "fit"}
    if kind == "model_version":
        return {
            "name": "fit",
            "version": import_model(
                uow_factory=app.uow_factory, document=MODEL, actor="test", now=now
            ).version,
        }
    if kind == "east_rep":
        return {"user_id": world.users["rep"]}
    if kind == "sla_kind":
        return {"kind": "sla"}
    if kind == "sla_version":
        return {
            "kind": "sla",
            "version": import_rule_set(
                uow_factory=app.uow_factory, kind="sla", document=SLA, actor="test", now=now
            ).version,
        }
    if kind == "routing_version":
        return {
            "version": import_rule_set(
                uow_factory=app.uow_factory, kind="routing", document=ROUTING, actor="test", now=now
            ).version
        }
    if kind == "leads_kind":
        return {"kind": "leads"}
    if kind == "east_deal":
        deal = open_opportunity(
            uow_factory=app.uow_factory,
            principal=SYSTEM,
            lead_id=world.leads["east"],
            name="East deal",
            amount=5000,
            now=now,
        )
        return {"opportunity_id": deal["id"]}
    if kind == "east_account":
        account_id = new_id()
        with app.engine.begin() as conn:
            conn.execute(
                t.accounts.insert().values(
                    id=account_id,
                    name="East Buyer Inc",
                    name_key="east buyer",
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                t.leads.update()
                .where(t.leads.c.id == world.leads["east"])
                .values(account_id=account_id)
            )
        return {"account_id": account_id}
    if kind == "campaign_day":
        campaign = add_campaign(
            uow_factory=app.uow_factory,
            principal=SYSTEM,
            name=f"Webinar {new_id()}",
            channel="webinar",
            now=now,
        )
        return {"campaign_id": campaign["id"], "day": "2026-03-01"}
    if kind == "admin_job":
        response = world.client.post(
            "/api/v1/imports/leads",
            headers=world.as_("admin"),
            files={
                "file": ("jobs.csv", b"email\njob.lead@client.example\nnot-an-email\n", "text/csv")
            },
        )
        assert response.status_code == 201, response.text
        return {"job_id": response.json()["job_id"]}
    return {}


def _routes(world: World) -> set[tuple[str, str]]:
    """The route table as the OpenAPI document publishes it (every route is in it)."""
    paths = world.api.openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_route_is_in_the_matrix(world: World) -> None:
    described = set(LEAD_READS) | set(LEAD_WRITES) | set(LEAD_ACTIONS) | set(OTHER_ROUTES)
    assert _routes(world) == described


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_lead_routes_follow_the_policy(world: World, who: str) -> None:
    leaks = []
    for (method, path), make in {**LEAD_READS, **LEAD_WRITES}.items():
        for lead in LEADS:
            lead_id = world.leads[lead]
            kwargs = make(world, lead)
            headers = {**world.as_(who), **kwargs.pop("headers", {})}
            response = world.client.request(
                method, path.format(lead_id=lead_id), headers=headers, **kwargs
            )
            writes = (method, path) in LEAD_WRITES
            if lead not in VISIBLE[who]:
                expected = {404}
            elif writes and lead not in WRITABLE[who]:
                expected = {403}
            else:
                # A legal request may still be refused by the lifecycle (already moved): 409.
                expected = {200, 201} | ({409} if path.endswith("/stage") else set())
            if response.status_code not in expected:
                leaks.append((who, method, path, lead, response.status_code, response.text[:200]))
            if lead not in VISIBLE[who]:
                assert f"{lead}.buyer@client.example" not in response.text
    assert leaks == []


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_pool_actions_follow_the_policy(world: World, who: str) -> None:
    wrong = []
    for (method, path), (make, expect) in LEAD_ACTIONS.items():
        for lead in LEADS:
            for name, owner in (("east", "rep"), ("west", "rep_west"), ("pool", None)):
                world.own(name, owner)  # every call starts from the same ownership
            response = world.client.request(
                method,
                path.format(lead_id=world.leads[lead]),
                headers=world.as_(who),
                **make(world, lead),
            )
            if response.status_code not in expect(who, lead):
                wrong.append((who, path, lead, response.status_code, response.text[:200]))
            if lead not in VISIBLE[who]:
                assert f"{lead}.buyer@client.example" not in response.text
    assert wrong == []


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_an_unknown_lead_and_a_hidden_one_answer_alike(world: World, who: str) -> None:
    for (method, path), make in {**LEAD_READS, **LEAD_WRITES}.items():
        kwargs = make(world, "east")
        headers = {**world.as_(who), **kwargs.pop("headers", {})}
        missing = world.client.request(
            method, path.format(lead_id=uuid.uuid4()), headers=headers, **kwargs
        )
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_other_routes_follow_the_policy(world: World, who: str) -> None:
    put_calendar(uow_factory=world.app.uow_factory, document=ALWAYS, now=world.app.clock())
    wrong = []
    for (method, path), spec in OTHER_ROUTES.items():
        kwargs = dict(spec["fresh"](world, who) if "fresh" in spec else spec["call"])
        url = path.format(**_path_values(world, spec.get("path")))
        headers = {**world.as_(who), **kwargs.pop("headers", {})}
        response = world.client.request(method, url, headers=headers, **kwargs)
        allowed = response.status_code < 400
        if allowed != (who in spec["ok"]):
            wrong.append((who, method, path, response.status_code, response.text[:200]))
        if not allowed:
            expected = 404 if who in spec.get("hidden", ()) else 403
            assert response.status_code == expected, (who, method, path, response.text)
    assert wrong == []


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_lists_hold_exactly_what_the_caller_may_see(world: World, who: str) -> None:
    response = world.client.get("/api/v1/leads", headers=world.as_(who))
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    assert ids == {str(world.leads[lead]) for lead in VISIBLE[who]}
    assert response.json()["total"] == len(VISIBLE[who])


def test_an_ownership_change_shows_on_the_next_list(world: World) -> None:
    def listed() -> set[str]:
        return {
            item["id"]
            for item in world.client.get("/api/v1/leads", headers=world.as_("rep")).json()["items"]
        }

    assert str(world.leads["west"]) not in listed()
    world.own("west", "rep")
    assert str(world.leads["west"]) in listed()
    world.own("east", "rep_west")
    assert str(world.leads["east"]) not in listed()
    assert (
        world.client.get(
            f"/api/v1/leads/{world.leads['east']}", headers=world.as_("rep")
        ).status_code
        == 404
    )


def test_marketers_do_not_see_sales_notes(world: World) -> None:
    lead = world.leads["east"]
    for kind in ("note", "call"):
        ok = world.client.post(
            f"/api/v1/leads/{lead}/activities",
            json={"kind": kind, "subject": f"{kind} text"},
            headers=world.as_("rep"),
        )
        assert ok.status_code == 201, ok.text

    def subjects(who: str) -> set[str]:
        items = world.client.get(f"/api/v1/leads/{lead}/timeline", headers=world.as_(who)).json()[
            "items"
        ]
        return {i["subject"] for i in items if i["type"] == "activity"}

    assert subjects("manager") == {"note text", "call text"}
    assert subjects("marketer") == {"call text"}


def test_a_rep_logs_only_their_own_activities(world: World) -> None:
    lead = world.leads["east"]
    response = world.client.post(
        f"/api/v1/leads/{lead}/activities",
        json={"kind": "call", "user_id": str(world.users["rep_west"])},
        headers=world.as_("rep"),
    )
    assert response.status_code == 403
