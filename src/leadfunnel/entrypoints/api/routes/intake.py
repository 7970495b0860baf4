"""The public intake endpoint for web forms and ad platforms.

Authenticated by an intake-scoped API key (``Authorization: Bearer`` or ``X-API-Key``), or by
an HMAC-SHA256 signature: ``X-Leadfunnel-Key`` (the key's id prefix), ``X-Leadfunnel-Timestamp``
(Unix seconds) and ``X-Leadfunnel-Signature: sha256=<hex>`` over
``"{timestamp}\\n{METHOD}\\n{path}\\n"`` followed by the raw body, with the key's signing
secret. Signatures older or newer than five minutes are refused; comparison is constant-time.

``Idempotency-Key``: the same key with the same fields (in any order or encoding) replays the
first response (header ``Idempotent-Replayed: true``); with different fields it is refused
(422); while the first request with that key is still running, a second gets 409.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadfunnel.domain.access import require_scope
from leadfunnel.domain.errors import DomainError, IdempotencyConflict, ValidationError
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.entrypoints.api.security import ApiState, check_rate, state_of
from leadfunnel.services.api_keys import (
    KeyIdentity,
    authenticate_key,
    note_key_use,
    remembered_key,
    remembered_signer,
    signing_identity,
)
from leadfunnel.services.auth import NotAuthenticated
from leadfunnel.services.intake import IntakeItem
from leadfunnel.services.lead_input import parse_lead_input

__all__ = ["MAX_BODY", "SIGNATURE_TOLERANCE", "router", "signature"]

router = APIRouter(tags=["intake"])
SIGNATURE_TOLERANCE = 300  # seconds
MAX_BODY = 64 * 1024


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The ``X-Leadfunnel-Signature`` value for a request (what a sender computes)."""
    message = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _identify(request: Request, state: ApiState, body: bytes, *, offline: bool) -> KeyIdentity | None:
    """Who sent the request: an intake key, or a signed request's key id.

    ``offline``: decide only from identities the process remembers (services/api_keys.py),
    without touching the store; None when the store must be asked (then call again on a
    worker thread with ``offline=False``). Refusals are the same either way."""
    key_id = request.headers.get("x-leadfunnel-key")
    if key_id is not None:
        return _signed(request, state, body, key_id[:16], offline=offline)
    header = request.headers.get("authorization", "")
    key = (
        header.partition(" ")[2].strip()
        if header.lower().startswith("bearer ")
        else request.headers.get("x-api-key")
    )
    if not key:
        raise NotAuthenticated("send an intake API key or a signed request")
    if offline:
        return remembered_key(cache=state.keys, key=key, now=state.now(), policy=state.policy)
    return authenticate_key(uow_factory=state.app.uow_factory, key=key, now=state.now(),
                            policy=state.policy, cache=state.keys)  # fmt: skip


def _signed(
    request: Request, state: ApiState, body: bytes, prefix: str, *, offline: bool
) -> KeyIdentity | None:
    stamp = request.headers.get("x-leadfunnel-timestamp", "")
    sent = request.headers.get("x-leadfunnel-signature", "")
    if not stamp.isdigit() or not sent:
        raise NotAuthenticated(
            "a signed request needs X-Leadfunnel-Timestamp and X-Leadfunnel-Signature"
        )
    now = state.now()
    if abs(now.timestamp() - int(stamp)) > SIGNATURE_TOLERANCE:
        raise NotAuthenticated("the signature's timestamp is more than 5 minutes from now")
    if offline:
        identity = remembered_signer(cache=state.keys, prefix=prefix, now=now, policy=state.policy)
        if identity is None:
            return None
    else:
        identity = signing_identity(uow_factory=state.app.uow_factory, prefix=prefix, now=now,
                                    policy=state.policy, cache=state.keys)  # fmt: skip
    assert identity.signing_secret is not None
    expected = signature(identity.signing_secret, stamp, request.method, request.url.path, body)
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise NotAuthenticated("the signature does not match the request")
    if not offline:
        note_key_use(uow_factory=state.app.uow_factory, identity=identity, now=now,
                     policy=state.policy, prefix=prefix, cache=state.keys)  # fmt: skip
    return identity


def _fields(request: Request, body: bytes) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=False))
        except UnicodeDecodeError:
            raise ValidationError("body", "is not UTF-8 form data") from None
    if kind in ("application/json", ""):
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError("body", "is not valid JSON") from None
        if not isinstance(data, dict):
            raise ValidationError("body", "must be a JSON object of lead fields")
        return data
    raise ApiProblem(415, "send application/json or application/x-www-form-urlencoded",
                     code="unsupported_media_type")  # fmt: skip


@router.post(
    "/intake",
    summary="Submit a lead from a web form or ad platform",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}},
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": True}
                },
            }
        }
    },
    responses={
        201: {"description": "A new lead"},
        200: {"description": "Merged into a stored lead"},
    },
)
async def intake_route(
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    state = state_of(request)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiProblem(413, f"a submission is at most {MAX_BODY} bytes", code="too_large")
    # The hot path stays on the event loop: a key seen in the last second needs no read of
    # the store, and the write waits on the group-commit writer without holding a thread.
    identity = _identify(request, state, body, offline=True)
    if identity is None:  # the store must be read (or a last-used time written): off the loop
        identity = await run_in_threadpool(_identify, request, state, body, offline=False)
        assert identity is not None
    require_scope(identity.principal, "intake")
    check_rate(state, identity)
    raw = _fields(request, body)
    if idempotency_key is not None and not idempotency_key.strip():
        raise ValidationError("Idempotency-Key", "is empty; send 1 to 200 characters or no header")
    source = identity.source or "api"
    stored_key = f"intake:{identity.key_id}:{idempotency_key}" if idempotency_key else None
    # The submission's fields, not its bytes: the same fields in another order or spacing,
    # or as a form instead of JSON, are the same submission.
    request_hash = hashlib.sha256(
        request.url.path.encode() + b"\n" + json.dumps(raw, sort_keys=True, default=str).encode()
    ).hexdigest()
    if stored_key is not None:
        with state.inflight_lock:
            if stored_key in state.inflight:
                raise ApiProblem(409, "a request with this Idempotency-Key is still being processed",
                                 code="idempotency_in_progress")  # fmt: skip
            state.inflight.add(stored_key)
    try:
        now = state.now()
        draft = parse_lead_input(raw, now=now, default_region=state.app.settings.default_region)
        # Written with whatever else arrives meanwhile, in one commit (services/intake_queue.py).
        outcome = await state.intake.submit_async(IntakeItem(draft, stored_key, request_hash),
                                                  source=source, actor=identity.principal.actor)  # fmt: skip
    finally:
        if stored_key is not None:
            with state.inflight_lock:
                state.inflight.discard(stored_key)
    if isinstance(outcome, IdempotencyConflict):  # named as the caller sent it
        raise IdempotencyConflict(str(idempotency_key))
    if isinstance(outcome, DomainError):
        raise outcome
    data = outcome.to_dict()
    data.pop("replayed")
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(
        data, status_code=201 if outcome.outcome == "created" else 200, headers=headers
    )
