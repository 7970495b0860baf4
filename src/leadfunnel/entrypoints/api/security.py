"""Who is calling: API keys (``Authorization: Bearer lf_...`` or ``X-API-Key``) for machines,
session cookies for people, CSRF for cookie-authenticated writes, and per-key rate limits."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from leadfunnel.bootstrap import App
from leadfunnel.domain.access import Principal
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.services.api_keys import KeyCache, KeyIdentity, authenticate_key
from leadfunnel.services.auth import AuthPolicy, NotAuthenticated, SessionTokens, resolve_session
from leadfunnel.services.intake_queue import IntakeQueue

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "ApiState",
    "Caller",
    "RateLimiter",
    "caller",
    "clear_session_cookies",
    "set_session_cookies",
    "state_of",
]

SESSION_COOKIE = "lf_session"
CSRF_COOKIE = "lf_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    """A token bucket per key: ``limit`` requests a minute, bursts up to ``limit``.

    Kept in process memory: with several workers each holds its own buckets, so a key's
    limit applies per worker (docs/concepts/access.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._now = time.monotonic

    def take(self, key: str, per_minute: int) -> float:
        """0 if the request may go ahead, else the seconds until a token is free."""
        rate = per_minute / 60.0
        with self._lock:
            now = self._now()
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


@dataclass
class ApiState:
    app: App
    intake: IntakeQueue
    policy: AuthPolicy = field(default_factory=AuthPolicy)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: Key identities read in the last second (services/api_keys.py); cleared when this
    #: process revokes a key or changes a user.
    keys: KeyCache = field(default_factory=KeyCache)
    #: Idempotency keys whose first request is still running, for 409 on a concurrent twin.
    inflight: set[str] = field(default_factory=set)
    inflight_lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return self.app.clock()


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


@dataclass(frozen=True)
class Caller:
    principal: Principal
    key: KeyIdentity | None = None


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiProblem(401, "Authorization must be 'Bearer <API key>'",
                             code="not_authenticated")  # fmt: skip
        return value.strip()
    return request.headers.get("x-api-key")


def check_rate(state: ApiState, identity: KeyIdentity) -> None:
    wait = state.limiter.take(str(identity.key_id), identity.rate_limit)
    if wait > 0:
        raise ApiProblem(429, f"this API key is limited to {identity.rate_limit} requests a minute",
                         code="rate_limited", headers={"Retry-After": str(math.ceil(wait))})  # fmt: skip


def caller(request: Request) -> Caller:
    """The authenticated caller, or 401. Cookie-authenticated writes must carry the session's
    CSRF token in ``X-CSRF-Token``."""
    state = state_of(request)
    now = state.now()
    key = _presented_key(request)
    if key is not None:
        identity = authenticate_key(uow_factory=state.app.uow_factory, key=key, now=now,
                                    policy=state.policy, cache=state.keys)  # fmt: skip
        check_rate(state, identity)
        return Caller(principal=identity.principal, key=identity)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("sign in, or send an API key as 'Authorization: Bearer <key>'")
    session = resolve_session(uow_factory=state.app.uow_factory, token=token, now=now,
                              policy=state.policy)  # fmt: skip
    if request.method not in _SAFE and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise ApiProblem(403, f"a signed-in write must send the session's CSRF token in {CSRF_HEADER}",
                         code="csrf_failed")  # fmt: skip
    return Caller(principal=session.principal)


CallerDep = Annotated[Caller, Depends(caller)]


def set_session_cookies(
    response: Response, request: Request, tokens: SessionTokens, policy: AuthPolicy
) -> None:
    """The session cookie (``HttpOnly``) and the CSRF cookie the page's script echoes; both
    ``SameSite=Lax``, ``Secure`` when the request came over HTTPS, gone at the absolute expiry."""
    secure = request.url.scheme == "https"
    max_age = int(policy.absolute_timeout.total_seconds())
    response.set_cookie(SESSION_COOKIE, tokens.session, max_age=max_age, httponly=True,
                        samesite="lax", secure=secure, path="/")  # fmt: skip
    response.set_cookie(CSRF_COOKIE, tokens.csrf, max_age=max_age, httponly=False,
                        samesite="lax", secure=secure, path="/")  # fmt: skip


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
