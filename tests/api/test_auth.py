"""Sign-in sessions, CSRF, throttling and API keys, over HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

from leadfunnel.services.api_keys import revoke_api_key
from tests.api.conftest import PASSWORD, World
from tests.conftest import FixedClock

LOGIN = "/api/v1/auth/login"


def sign_in(world: World, password: str = PASSWORD) -> dict:
    response = world.client.post(LOGIN, json={"email": "Admin@Corp.example ", "password": password})
    return {
        "status": response.status_code,
        "body": response.json(),
        "cookies": response.cookies,
        "headers": response.headers,
    }


def test_sign_in_sets_a_hardened_session_cookie_and_me_answers(world: World) -> None:
    result = sign_in(world)
    assert result["status"] == 200
    cookie = next(
        c for c in result["headers"].get_list("set-cookie") if c.startswith("lf_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    me = world.client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "admin"
    # The store keeps only a hash of the token.
    token = world.client.cookies["lf_session"]
    with world.app.engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT token_hash FROM sessions")]
    assert token not in stored and len(stored) == 1


def test_wrong_password_is_401_problem_and_says_nothing_of_which_part(world: World) -> None:
    wrong = world.client.post(LOGIN, json={"email": "admin@corp.example", "password": "x" * 20})
    unknown = world.client.post(LOGIN, json={"email": "nobody@corp.example", "password": "x" * 20})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


def test_failed_sign_ins_are_throttled_even_for_the_right_password(
    world: World, clock: FixedClock
) -> None:
    for _ in range(5):
        assert (
            world.client.post(
                LOGIN, json={"email": "admin@corp.example", "password": "y" * 20}
            ).status_code
            == 401
        )
    locked = world.client.post(LOGIN, json={"email": "admin@corp.example", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    clock.now += timedelta(minutes=16)
    assert (
        world.client.post(
            LOGIN, json={"email": "admin@corp.example", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_signing_in_again_rotates_the_session(world: World) -> None:
    sign_in(world)
    first = world.client.cookies["lf_session"]
    sign_in(world)
    second = world.client.cookies["lf_session"]
    assert first != second
    world.client.cookies.clear()
    world.client.cookies.set("lf_session", first)
    assert world.client.get("/api/v1/auth/me").status_code == 401


def test_cookie_writes_need_the_csrf_token(world: World) -> None:
    csrf = sign_in(world)["body"]["csrf_token"]
    lead = world.leads["east"]
    body = {"kind": "call"}
    assert world.client.post(f"/api/v1/leads/{lead}/activities", json=body).status_code == 403
    bad = world.client.post(
        f"/api/v1/leads/{lead}/activities", json=body, headers={"X-CSRF-Token": "nope"}
    )
    assert bad.status_code == 403 and bad.json()["code"] == "csrf_failed"
    ok = world.client.post(
        f"/api/v1/leads/{lead}/activities", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201


def test_sessions_end_when_idle_and_at_their_absolute_limit(
    world: World, clock: FixedClock
) -> None:
    sign_in(world)
    clock.now += timedelta(hours=1, minutes=59)
    assert world.client.get("/api/v1/auth/me").status_code == 200
    clock.now += timedelta(hours=2, minutes=1)
    assert world.client.get("/api/v1/auth/me").status_code == 401
    sign_in(world)
    for _ in range(13):  # used every hour, never idle: still ends 12 hours after sign-in
        clock.now += timedelta(hours=1)
        status = world.client.get("/api/v1/auth/me").status_code
    assert status == 401


def test_logout_ends_the_session(world: World) -> None:
    csrf = sign_in(world)["body"]["csrf_token"]
    token = world.client.cookies["lf_session"]
    assert (
        world.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    )
    world.client.cookies.clear()
    world.client.cookies.set("lf_session", token)
    assert world.client.get("/api/v1/auth/me").status_code == 401


def test_api_keys_are_shown_once_stored_hashed_scoped_and_revocable(
    world: World, clock: FixedClock
) -> None:
    created = world.client.post(
        "/api/v1/api-keys",
        json={"name": "crm sync", "scopes": ["leads:read"]},
        headers=world.as_("admin"),
    )
    assert created.status_code == 201
    key = created.json()["key"]
    listed = world.client.get("/api/v1/api-keys", headers=world.as_("admin")).json()["items"]
    assert key not in str(listed) and all("key_hash" not in k for k in listed)
    read = world.client.get("/api/v1/leads", headers={"X-API-Key": key})
    assert read.status_code == 200
    write = world.client.post(
        "/api/v1/leads", json={"email": "a@b.example"}, headers={"X-API-Key": key}
    )
    assert write.status_code == 403 and "leads:write" in write.json()["detail"]
    used = next(
        k
        for k in world.client.get("/api/v1/api-keys", headers=world.as_("admin")).json()["items"]
        if k["name"] == "crm sync"
    )
    assert used["last_used_at"] is not None
    revoked = world.client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=world.as_("admin"))
    assert revoked.status_code == 204
    assert world.client.get("/api/v1/leads", headers={"X-API-Key": key}).status_code == 401


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_lifetime(
    world: World, clock: FixedClock
) -> None:
    """Another process (here: the service called directly) revokes a key this server has
    just used: the remembered identity serves until its second is up, then the key is 401."""
    created = world.client.post(
        "/api/v1/api-keys", json={"name": "elsewhere", "scopes": ["leads:read"]},
        headers=world.as_("admin"),
    )  # fmt: skip
    key = created.json()["key"]
    assert world.client.get("/api/v1/leads", headers={"X-API-Key": key}).status_code == 200
    revoke_api_key(
        uow_factory=world.app.uow_factory,
        key_id=uuid.UUID(created.json()["id"]),
        actor="test",
        now=clock.now,
    )
    ttl = world.api.state.api.keys.ttl
    clock.now += ttl / 2
    assert world.client.get("/api/v1/leads", headers={"X-API-Key": key}).status_code == 200
    clock.now += ttl
    assert world.client.get("/api/v1/leads", headers={"X-API-Key": key}).status_code == 401


def test_a_tampered_key_is_refused(world: World) -> None:
    key = world.keys["admin"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert (
        world.client.get("/api/v1/leads", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    assert (
        world.client.get("/api/v1/leads", headers={"Authorization": "Basic abc"}).status_code == 401
    )
    assert world.client.get("/api/v1/leads").status_code == 401


def test_rate_limits_answer_429_with_retry_after(world: World) -> None:
    key = world.client.post(
        "/api/v1/api-keys",
        json={"name": "tight", "scopes": ["leads:read"], "rate_limit": 3},
        headers=world.as_("admin"),
    ).json()["key"]
    statuses = [
        world.client.get("/api/v1/leads", headers={"X-API-Key": key}).status_code for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    last = world.client.get("/api/v1/leads", headers={"X-API-Key": key})
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
