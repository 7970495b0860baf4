"""API keys for machines (docs/concepts/access.md).

A key is ``lf_<prefix>_<secret>``: the prefix finds the stored row, the SHA-256 of the whole
key proves it. It is shown once when issued, scoped, acts for a user (whose role bounds it),
can be revoked, and records when it was last used (at most once per
:attr:`~leadfunnel.services.auth.AuthPolicy.touch_every`, so reads stay reads). Intake keys
name the lead source their submissions carry and may hold a secret for HMAC-signed requests.

A server remembers a live key's identity for a moment (:class:`KeyCache`, one second by
default) so a busy intake key costs no read of the store per request. A revocation, a
deactivated user or a changed role therefore reaches other server processes within that
moment; the process that revokes a key forgets every remembered identity at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from leadfunnel.domain.access import SCOPES, Principal
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.auth import (
    DEFAULT_POLICY,
    AuthPolicy,
    NotAuthenticated,
    checked_email,
    principal_for_user,
    token_digest,
)
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "IssuedKey",
    "KeyCache",
    "KeyIdentity",
    "authenticate_key",
    "create_api_key",
    "list_api_keys",
    "note_key_use",
    "remembered_key",
    "remembered_signer",
    "revoke_api_key",
    "signing_identity",
]

_KEY_PREFIX = "lf_"


@dataclass(frozen=True)
class IssuedKey:
    """A new key. ``key`` (and ``signing_secret``) exist only here: show them once."""

    id: uuid.UUID
    name: str
    key: str
    scopes: list[str]
    source: str | None
    signing_secret: str | None
    rate_limit: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "key": self.key,
            "scopes": self.scopes,
            "source": self.source,
            "signing_secret": self.signing_secret,
            "rate_limit": self.rate_limit,
        }


def create_api_key(
    *,
    uow_factory: UnitOfWorkFactory,
    name: str,
    user_email: str,
    scopes: Sequence[str],
    source: str | None = None,
    signed: bool = False,
    rate_limit: int = 600,
    actor: str,
    now: datetime,
) -> IssuedKey:
    """Issue a key acting for ``user_email``. ``source`` (intake keys) names the lead source
    its submissions carry; ``signed`` also issues a secret for HMAC-signed requests."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("name", "a key name must be 1 to 100 characters")
    if not scopes:
        raise ValidationError("scopes", f"give at least one of: {', '.join(SCOPES)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise ValidationError("scopes", f"'{scope}' is not one of: {', '.join(SCOPES)}")
    if source is not None and not (
        1 <= len(source) <= 32 and source.replace("-", "").replace("_", "").isalnum()
    ):
        raise ValidationError("source", "must be 1 to 32 letters, digits, '-' or '_'")
    if not 1 <= rate_limit <= 100_000:
        raise ValidationError("rate_limit", "requests per minute must be between 1 and 100000")
    prefix = secrets.token_hex(4)
    key = f"{_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    signing_secret = secrets.token_urlsafe(32) if signed else None
    with uow_factory() as uow:
        user = uow.auth.user_by_email(checked_email(user_email))
        if user is None:
            raise NotFound("user", user_email)
        row: Row = {
            "id": new_id(),
            "name": name,
            "prefix": prefix,
            "key_hash": token_digest(key),
            "user_id": user["id"],
            "scopes": sorted(set(scopes)),
            "source": source,
            "signing_secret": signing_secret,
            "rate_limit": rate_limit,
            "created_at": now,
            "last_used_at": None,
            "revoked_at": None,
        }
        uow.auth.add_api_key(row)
        uow.audit.record(at=now, actor=actor, action="apikey.created", entity="api_key",
                         entity_id=row["id"], data={"name": name, "scopes": row["scopes"],
                                                    "user_id": str(user["id"])})  # fmt: skip
        uow.commit()
    return IssuedKey(id=row["id"], name=name, key=key, scopes=row["scopes"], source=source,
                     signing_secret=signing_secret, rate_limit=rate_limit)  # fmt: skip


def list_api_keys(*, uow_factory: UnitOfWorkFactory) -> list[Row]:
    """Every key without its hash or signing secret."""
    with uow_factory(write=False) as uow:
        rows = uow.auth.api_keys()
    hidden = ("key_hash", "signing_secret")
    return [{k: v for k, v in row.items() if k not in hidden} | {"signed": row["signing_secret"] is not None}
            for row in rows]  # fmt: skip


def revoke_api_key(
    *, uow_factory: UnitOfWorkFactory, key_id: uuid.UUID, actor: str, now: datetime
) -> None:
    with uow_factory() as uow:
        row = uow.auth.api_key(key_id)
        if row is None:
            raise NotFound("api key", key_id)
        if row["revoked_at"] is None:
            uow.auth.update_api_key(key_id, {"revoked_at": now})
            uow.audit.record(at=now, actor=actor, action="apikey.revoked", entity="api_key",
                             entity_id=key_id, data={})  # fmt: skip
        uow.commit()


@dataclass(frozen=True)
class KeyIdentity:
    """A live key: who it acts as, and what it allows."""

    principal: Principal
    key_id: uuid.UUID
    source: str | None
    signing_secret: str | None
    rate_limit: int
    last_used_at: datetime | None = None


def _key_row(uow: UnitOfWork, prefix: str) -> Row | None:
    row = uow.auth.api_key_by_prefix(prefix)
    if row is None or row["revoked_at"] is not None:
        return None
    return row


def _identity(uow: UnitOfWork, row: Row) -> KeyIdentity:
    user = uow.auth.user(row["user_id"])
    if user is None or not user["active"]:
        raise NotAuthenticated("the API key's user is deactivated")
    principal = principal_for_user(uow, user, scopes=row["scopes"], key_id=row["id"])
    return KeyIdentity(principal=principal, key_id=row["id"], source=row["source"],
                       signing_secret=row["signing_secret"], rate_limit=row["rate_limit"], last_used_at=row["last_used_at"])  # fmt: skip


def _touch_key(
    uow_factory: UnitOfWorkFactory, identity: KeyIdentity, now: datetime, policy: AuthPolicy
) -> KeyIdentity:
    """Record the use when the stored time is older than ``touch_every``; the identity with
    the last-used time the store now holds."""
    last = identity.last_used_at
    if last is not None and now - last < policy.touch_every:
        return identity
    with uow_factory() as uow:
        uow.auth.update_api_key(identity.key_id, {"last_used_at": now})
        uow.commit()
    return replace(identity, last_used_at=now)


class KeyCache:
    """Live key identities remembered for ``ttl`` after they were read from the store.

    Only successes are remembered (an unknown or revoked key is looked up every time, so a
    new key works at once). Entries are keyed by the SHA-256 of the presented key, or by the
    key id for signed requests; times come from the caller's clock. Thread-safe."""

    def __init__(self, ttl: timedelta = timedelta(seconds=1), *, capacity: int = 10_000) -> None:
        self.ttl = ttl
        self._capacity = capacity
        self._entries: dict[str, tuple[datetime, KeyIdentity]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, now: datetime) -> KeyIdentity | None:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            return None
        read_at, identity = entry
        if not read_at <= now < read_at + self.ttl:
            return None
        return identity

    def put(self, name: str, identity: KeyIdentity, *, read_at: datetime) -> None:
        with self._lock:
            if len(self._entries) >= self._capacity:
                self._entries.clear()
            self._entries[name] = (read_at, identity)

    def update(self, name: str, identity: KeyIdentity) -> None:
        """Replace a remembered identity (a newer last-used time), keeping when it was read."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None:
                self._entries[name] = (entry[0], identity)

    def clear(self) -> None:
        """Forget everything (after a revocation or a change to users in this process)."""
        with self._lock:
            self._entries.clear()


def authenticate_key(
    *,
    uow_factory: UnitOfWorkFactory,
    key: str,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
    cache: KeyCache | None = None,
) -> KeyIdentity:
    """The identity of a presented key; :class:`NotAuthenticated` for anything not live."""
    parts = key.split("_")
    if not key.startswith(_KEY_PREFIX) or len(parts) < 3 or len(key) > 200:
        raise NotAuthenticated("not a leadfunnel API key")
    digest = token_digest(key)
    remembered = cache.get(digest, now) if cache is not None else None
    if remembered is None:
        with uow_factory(write=False) as uow:
            row = _key_row(uow, parts[1])
            if row is None or not hmac.compare_digest(row["key_hash"], digest):
                raise NotAuthenticated("unknown or revoked API key")
            identity = _identity(uow, row)
    else:
        identity = remembered
    touched = _touch_key(uow_factory, identity, now, policy)
    if cache is not None:
        if remembered is None:
            cache.put(digest, touched, read_at=now)
        elif touched is not remembered:
            cache.update(digest, touched)
    return touched


def remembered_key(
    *, cache: KeyCache, key: str, now: datetime, policy: AuthPolicy = DEFAULT_POLICY
) -> KeyIdentity | None:
    """The identity of ``key`` if ``cache`` holds it and no last-used write is due: what a
    caller that must not touch the store (an event loop) may use; else None (ask
    :func:`authenticate_key`)."""
    return _fresh(cache.get(token_digest(key), now), now, policy)


def remembered_signer(
    *, cache: KeyCache, prefix: str, now: datetime, policy: AuthPolicy = DEFAULT_POLICY
) -> KeyIdentity | None:
    """:func:`remembered_key` for the key id of a signed request (see :func:`signing_identity`)."""
    return _fresh(cache.get(f"signed:{prefix}", now), now, policy)


def _fresh(identity: KeyIdentity | None, now: datetime, policy: AuthPolicy) -> KeyIdentity | None:
    if identity is None or identity.last_used_at is None:
        return None
    return identity if now - identity.last_used_at < policy.touch_every else None


def signing_identity(
    *,
    uow_factory: UnitOfWorkFactory,
    prefix: str,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
    cache: KeyCache | None = None,
) -> KeyIdentity:
    """The identity behind a key id used for HMAC signing. The caller checks the signature,
    then records the use with :func:`note_key_use`."""
    name = f"signed:{prefix}"
    remembered = cache.get(name, now) if cache is not None else None
    if remembered is not None:
        return remembered
    with uow_factory(write=False) as uow:
        row = _key_row(uow, prefix)
        if row is None or row["signing_secret"] is None:
            raise NotAuthenticated("unknown, revoked or unsigned key id")
        identity = _identity(uow, row)
    if cache is not None:
        cache.put(name, identity, read_at=now)
    return identity


def note_key_use(
    *,
    uow_factory: UnitOfWorkFactory,
    identity: KeyIdentity,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
    prefix: str | None = None,
    cache: KeyCache | None = None,
) -> None:
    """Record that a key was used (at most once per :attr:`AuthPolicy.touch_every`); with the
    ``cache`` that :func:`signing_identity` used for ``prefix``, remember the new time."""
    touched = _touch_key(uow_factory, identity, now, policy)
    if cache is not None and prefix is not None and touched is not identity:
        cache.update(f"signed:{prefix}", touched)
