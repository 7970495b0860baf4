"""The public intake endpoint: API keys, HMAC signatures, Idempotency-Key."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from leadfunnel.entrypoints.api.routes.intake import signature
from leadfunnel.services.api_keys import create_api_key
from tests.api.conftest import World
from tests.builders import count_rows

URL = "/api/v1/intake"


@pytest.fixture
def form_key(world: World):
    return create_api_key(
        uow_factory=world.app.uow_factory,
        name="website form",
        user_email="admin@corp.example",
        scopes=["intake"],
        source="webform",
        signed=True,
        actor="test",
        now=world.app.clock(),
    )


def signed_headers(
    world: World, key, body: bytes, *, age: int = 0, secret: str | None = None
) -> dict[str, str]:
    stamp = str(int(world.app.clock().timestamp()) - age)
    return {
        "Content-Type": "application/json",
        "X-Leadfunnel-Key": key.key.split("_")[1],
        "X-Leadfunnel-Timestamp": stamp,
        "X-Leadfunnel-Signature": signature(secret or key.signing_secret, stamp, "POST", URL, body),
    }


def test_an_intake_key_creates_then_merges_with_the_keys_source(world: World, form_key) -> None:
    headers = {"X-API-Key": form_key.key}
    first = world.client.post(
        URL, json={"email": "Jo@Buyer.example", "company": "Buyer"}, headers=headers
    )
    assert first.status_code == 201 and first.json()["outcome"] == "created"
    again = world.client.post(
        URL, json={"email": "jo@buyer.example", "title": "CTO"}, headers=headers
    )
    assert again.status_code == 200 and again.json()["outcome"] == "merged"
    assert again.json()["lead_id"] == first.json()["lead_id"]
    with world.app.uow_factory(write=False) as uow:
        lead = uow.leads.get(__import__("uuid").UUID(first.json()["lead_id"]))
    assert lead["source"] == "webform" and lead["title"] == "CTO"


def test_web_forms_may_post_url_encoded_fields(world: World, form_key) -> None:
    response = world.client.post(
        URL,
        content=b"email=form%40buyer.example&first_name=Ana",
        headers={"X-API-Key": form_key.key, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text


def test_a_key_without_the_intake_scope_is_refused(world: World) -> None:
    reader = create_api_key(
        uow_factory=world.app.uow_factory,
        name="reader",
        user_email="admin@corp.example",
        scopes=["leads:read"],
        actor="test",
        now=world.app.clock(),
    )
    response = world.client.post(
        URL, json={"email": "x@y.example"}, headers={"X-API-Key": reader.key}
    )
    assert response.status_code == 403


def test_a_signed_request_is_accepted_and_each_tampering_refused(world: World, form_key) -> None:
    body = json.dumps({"email": "signed@buyer.example"}).encode()
    ok = world.client.post(URL, content=body, headers=signed_headers(world, form_key, body))
    assert ok.status_code == 201, ok.text
    # The signer is now remembered: the refusals below come from the path that does not read
    # the store, which must check every signature all the same.
    prefix = form_key.key.split("_")[1]
    assert world.api.state.api.keys.get(f"signed:{prefix}", world.app.clock()) is not None
    before = count_rows(world.app, "leads")
    tampered = body.replace(b"signed", b"forged")
    cases = {
        "body changed": (tampered, signed_headers(world, form_key, body)),
        "wrong secret": (body, signed_headers(world, form_key, body, secret="not-the-secret")),
        "too old": (body, signed_headers(world, form_key, body, age=301)),
        "from the future": (body, signed_headers(world, form_key, body, age=-301)),
    }
    for name, (content, headers) in cases.items():
        response = world.client.post(URL, content=content, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json"
    assert count_rows(world.app, "leads") == before
    still_fresh = world.client.post(
        URL, content=body, headers=signed_headers(world, form_key, body, age=299)
    )
    assert still_fresh.status_code == 200


def test_idempotency_key_replays_refuses_a_new_body_and_a_concurrent_twin(
    world: World, form_key
) -> None:
    headers = {"X-API-Key": form_key.key, "Idempotency-Key": "order-77"}
    first = world.client.post(URL, json={"email": "idem@buyer.example"}, headers=headers)
    replay = world.client.post(URL, json={"email": "idem@buyer.example"}, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert count_rows(world.app, "touchpoints") == 4  # three leads of the world, and this one once
    changed = world.client.post(URL, json={"email": "other@buyer.example"}, headers=headers)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_conflict"
    # named as sent, without the store's internal form of the key
    assert "'order-77'" in changed.json()["detail"] and "intake:" not in changed.text
    # the same fields in another order, spacing or encoding are the same submission
    keyed = {**headers, "Idempotency-Key": "order-78"}
    sent = world.client.post(URL, content=b'{"email": "k@buyer.example", "first_name": "K"}',
                             headers={**keyed, "Content-Type": "application/json"})  # fmt: skip
    reordered = world.client.post(URL, content=b'{"first_name":"K","email":"k@buyer.example"}',
                                  headers={**keyed, "Content-Type": "application/json"})  # fmt: skip
    assert sent.status_code == reordered.status_code == 201, reordered.text
    assert reordered.headers["Idempotent-Replayed"] == "true"
    empty = world.client.post(URL, json={"email": "e@buyer.example"},
                              headers={**headers, "Idempotency-Key": " "})  # fmt: skip
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "Idempotency-Key"
    state = world.api.state.api
    state.inflight.add(f"intake:{form_key.id}:busy-1")
    busy = world.client.post(
        URL, json={"email": "busy@buyer.example"}, headers={**headers, "Idempotency-Key": "busy-1"}
    )
    assert busy.status_code == 409


def test_bad_submissions_are_problems_naming_the_field(world: World, form_key) -> None:
    headers = {"X-API-Key": form_key.key}
    unknown = world.client.post(URL, json={"email": "a@b.example", "shoe_size": 9}, headers=headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "shoe_size"
    no_identity = world.client.post(URL, json={"first_name": "Ann"}, headers=headers)
    assert no_identity.status_code == 422
    not_json = world.client.post(
        URL, content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "body"
    xml = world.client.post(
        URL, content=b"<a/>", headers={**headers, "Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    huge = world.client.post(
        URL, json={"email": "a@b.example", "company": "x" * 70_000}, headers=headers
    )
    assert huge.status_code == 413


def test_signed_requests_expire_with_the_clock_not_the_wall(world: World, form_key) -> None:
    body = b'{"email": "late@buyer.example"}'
    headers = signed_headers(world, form_key, body)
    world.app.clock.now += timedelta(minutes=6)  # type: ignore[attr-defined]
    assert world.client.post(URL, content=body, headers=headers).status_code == 401


def test_a_remembered_key_records_its_use_once_a_minute_and_revocation_is_immediate(
    world: World, form_key
) -> None:
    clock = world.app.clock

    def last_used():
        with world.app.uow_factory(write=False) as uow:
            return uow.auth.api_key(form_key.id)["last_used_at"]

    headers = {"X-API-Key": form_key.key}
    first_use = clock()
    assert world.client.post(URL, json={"email": "a@one.example"}, headers=headers).status_code == 201
    assert last_used() == first_use
    clock.now += timedelta(seconds=30)  # still remembered, no write due
    assert world.client.post(URL, json={"email": "b@one.example"}, headers=headers).status_code == 201
    assert last_used() == first_use
    clock.now += timedelta(seconds=31)  # a minute since the recorded use: written again
    assert world.client.post(URL, json={"email": "c@one.example"}, headers=headers).status_code == 201
    assert last_used() == clock()
    revoked = world.client.delete(f"/api/v1/api-keys/{form_key.id}", headers=world.as_("admin"))
    assert revoked.status_code == 204
    refused = world.client.post(URL, json={"email": "d@one.example"}, headers=headers)
    assert refused.status_code == 401


def test_a_live_submission_enters_a_lead_at_lead_or_mql_only(world: World, form_key) -> None:
    # Later stages are lifecycle moves with their gates (a deal for won, a reason for lost);
    # a form key on a public page must not create customers.
    headers = {"X-API-Key": form_key.key}
    before = count_rows(world.app, "leads")
    for stage in ("won", "lost", "opportunity", "sql"):
        refused = world.client.post(URL, json={"email": f"{stage}@buyer.example", "stage": stage},
                                    headers=headers)  # fmt: skip
        assert refused.status_code == 422, stage
        assert refused.json()["errors"][0]["field"] == "stage"
    as_form = world.client.post(URL, content=b"email=won%40buyer.example&stage=won",
                                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert as_form.status_code == 422
    assert count_rows(world.app, "leads") == before
    mql = world.client.post(URL, json={"email": "demo@buyer.example", "stage": "mql"}, headers=headers)
    assert mql.status_code == 201
    lead = world.client.get(f"/api/v1/leads/{mql.json()['lead_id']}", headers=world.as_("admin"))
    assert lead.json()["stage"] == "mql"


def test_a_submission_time_in_the_future_or_before_1970_is_refused(world: World, form_key) -> None:
    headers = {"X-API-Key": form_key.key}
    now = world.app.clock()
    for when in ((now + timedelta(days=1)).isoformat(), "2099-01-01T00:00:00", "1900-01-01"):
        refused = world.client.post(URL, json={"email": "time@buyer.example", "occurred_at": when},
                                    headers=headers)  # fmt: skip
        assert refused.status_code == 422, when
        assert refused.json()["errors"][0]["field"] == "occurred_at"
    # a sender's clock a little ahead of the server's is not an error
    skewed = (now + timedelta(minutes=2)).isoformat()
    accepted = world.client.post(URL, json={"email": "time@buyer.example", "occurred_at": skewed},
                                 headers=headers)  # fmt: skip
    assert accepted.status_code == 201
