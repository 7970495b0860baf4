"""People, sign-in sessions and API keys (docs/concepts/access.md).

* Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, re-hashed on sign-in when
  the parameters change). Unknown accounts cost the same hashing work as known ones, so the
  time of an answer does not tell which emails exist.
* Failed sign-ins are throttled per account and per client address: after
  :attr:`AuthPolicy.max_failures` failures in :attr:`AuthPolicy.failure_window` the key is
  locked for the rest of the window, and every attempt is refused (even a right password).
* A session is a random 256-bit token in a cookie; the store keeps only its SHA-256. Each
  sign-in creates a new token (the old one, if any, ends), and a session ends after
  :attr:`AuthPolicy.idle_timeout` without use or :attr:`AuthPolicy.absolute_timeout` after
  sign-in. Each session has a CSRF token that cookie-authenticated writes must echo.
* An API key is ``lf_<prefix>_<secret>``; it is shown once, stored as SHA-256, scoped, can be
  revoked, and records when it was last used (at most once a minute, so reads stay reads).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from leadfunnel.domain.access import ROLES, SCOPES, Principal, Role
from leadfunnel.domain.errors import DomainError, NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.normalise import normalise_email
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AuthPolicy",
    "IssuedKey",
    "LoginThrottled",
    "NotAuthenticated",
    "SessionTokens",
    "add_team",
    "add_user",
    "authenticate_key",
    "create_api_key",
    "list_teams",
    "list_users",
    "end_session",
    "list_api_keys",
    "login",
    "principal_for_user",
    "resolve_session",
    "revoke_api_key",
    "set_password",
]

_hasher = PasswordHasher()
# Verified against when the account does not exist, so unknown emails cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_MIN_PASSWORD = 12
_MAX_PASSWORD = 1024
_KEY_PREFIX = "lf_"


class NotAuthenticated(DomainError):
    """No valid credentials: wrong password, unknown or ended session, unknown or revoked key."""

    code = "not_authenticated"


class LoginThrottled(DomainError):
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class AuthPolicy:
    idle_timeout: timedelta = timedelta(hours=2)
    absolute_timeout: timedelta = timedelta(hours=12)
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    #: How often a session's or key's last-used time is written at most.
    touch_every: timedelta = timedelta(minutes=1)


DEFAULT_POLICY = AuthPolicy()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check_password(password: str) -> None:
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise ValidationError(
            "password", f"must be {_MIN_PASSWORD} to {_MAX_PASSWORD} characters long"
        )


def _email(value: str) -> str:
    email = normalise_email(value)
    if email is None:
        raise ValidationError("email", f"'{value}' is not a valid email address")
    return email


# -- people -----------------------------------------------------------------------------------


def add_team(
    *, uow_factory: UnitOfWorkFactory, name: str, region: str | None, actor: str, now: datetime
) -> Row:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("name", "a team name must be 1 to 100 characters")
    with uow_factory() as uow:
        if uow.auth.team_by_name(name) is not None:
            raise ValidationError("name", f"a team named '{name}' already exists")
        row: Row = {
            "id": new_id(),
            "name": name,
            "region": region,
            "manager_id": None,
            "created_at": now,
        }
        uow.auth.add_team(row)
        uow.audit.record(at=now, actor=actor, action="team.created", entity="team",
                         entity_id=row["id"], data={"name": name})  # fmt: skip
        uow.commit()
    return row


def add_user(
    *,
    uow_factory: UnitOfWorkFactory,
    email: str,
    name: str,
    role: str,
    password: str | None,
    team: str | None,
    actor: str,
    now: datetime,
) -> Row:
    """Create a person. A manager given a team becomes that team's head."""
    address = _email(email)
    if role not in ROLES:
        raise ValidationError("role", f"'{role}' is not one of: {', '.join(ROLES)}")
    if not 1 <= len(name.strip()) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if password is not None:
        _check_password(password)
    with uow_factory() as uow:
        if uow.auth.user_by_email(address) is not None:
            raise ValidationError("email", f"a user with the email {address} already exists")
        team_row = None
        if team is not None:
            team_row = uow.auth.team_by_name(team)
            if team_row is None:
                raise NotFound("team", team)
        row: Row = {
            "id": new_id(),
            "email": address,
            "external_id": None,
            "name": name.strip(),
            "role": role,
            "team_id": team_row["id"] if team_row else None,
            "password_hash": _hasher.hash(password) if password is not None else None,
            "timezone": "UTC",
            "active": True,
            "created_at": now,
        }
        uow.auth.add_user(row)
        if team_row is not None and role == "manager":
            uow.auth.set_team_manager(team_row["id"], row["id"])
        uow.audit.record(at=now, actor=actor, action="user.created", entity="user",
                         entity_id=row["id"], data={"email": address, "role": role})  # fmt: skip
        uow.commit()
    return {k: v for k, v in row.items() if k != "password_hash"}


def list_teams(*, uow_factory: UnitOfWorkFactory) -> list[Row]:
    with uow_factory(write=False) as uow:
        return uow.auth.teams()


def list_users(*, uow_factory: UnitOfWorkFactory, principal: Principal) -> list[Row]:
    """Admins see everyone; managers their team (and themselves). No password hashes."""
    with uow_factory(write=False) as uow:
        rows = uow.auth.users()
    if principal.role == "manager":
        team = principal.team_members | {principal.user_id}
        rows = [r for r in rows if r["id"] in team]
    elif principal.role != "admin":
        rows = [r for r in rows if r["id"] == principal.user_id]
    return [{k: v for k, v in r.items() if k != "password_hash"} for r in rows]


def set_password(
    *, uow_factory: UnitOfWorkFactory, email: str, password: str, actor: str, now: datetime
) -> None:
    """Set a password and end every session of that person."""
    _check_password(password)
    address = _email(email)
    with uow_factory() as uow:
        user = uow.auth.user_by_email(address)
        if user is None:
            raise NotFound("user", address)
        uow.auth.update_user(user["id"], {"password_hash": _hasher.hash(password)})
        uow.auth.end_sessions_of(user["id"])
        uow.audit.record(at=now, actor=actor, action="user.password_set", entity="user",
                         entity_id=user["id"], data={})  # fmt: skip
        uow.commit()


def principal_for_user(
    uow: UnitOfWork,
    user: Row,
    *,
    scopes: Sequence[str] = SCOPES,
    key_id: uuid.UUID | None = None,
) -> Principal:
    """The principal a stored user acts as. A manager's team is the one they belong to, else
    the one they head; its members are read now, so a move between teams counts at once."""
    role: Role = user["role"]
    team_id = user["team_id"]
    members: frozenset[uuid.UUID] = frozenset()
    if role == "manager":
        if team_id is None:
            headed = [t for t in uow.auth.teams() if t["manager_id"] == user["id"]]
            team_id = headed[0]["id"] if headed else None
        if team_id is not None:
            members = frozenset(uow.auth.team_member_ids(team_id))
    return Principal(
        user_id=user["id"],
        role=role,
        team_id=team_id,
        team_members=members,
        scopes=frozenset(scopes),
        name=user["email"],
        key_id=key_id,
    )


# -- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTokens:
    """What a sign-in hands the browser: the session token (cookie) and its CSRF token."""

    session: str
    csrf: str
    expires_at: datetime
    principal: Principal


def _throttle_keys(email: str, client: str | None) -> list[str]:
    keys = [f"email:{email}"]
    if client:
        keys.append(f"client:{client}")
    return keys


def _locked_for(uow: UnitOfWork, keys: list[str], now: datetime) -> int:
    waits = []
    for key in keys:
        row = uow.auth.throttle(key)
        if row is not None and row["locked_until"] is not None and row["locked_until"] > now:
            waits.append(int((row["locked_until"] - now).total_seconds()) + 1)
    return max(waits, default=0)


def _fail(uow: UnitOfWork, keys: list[str], now: datetime, policy: AuthPolicy) -> None:
    for key in keys:
        row = uow.auth.throttle(key)
        if row is None or now - row["window_started_at"] > policy.failure_window:
            row = {"key": key, "failures": 0, "window_started_at": now, "locked_until": None}
        failures = row["failures"] + 1
        locked = row["window_started_at"] + policy.failure_window
        uow.auth.put_throttle({**row, "failures": failures,
                               "locked_until": locked if failures >= policy.max_failures else None})  # fmt: skip


def login(
    *,
    uow_factory: UnitOfWorkFactory,
    email: str,
    password: str,
    client: str | None,
    now: datetime,
    previous_session: str | None = None,
    policy: AuthPolicy = DEFAULT_POLICY,
) -> SessionTokens:
    """Check a password and open a new session (ending ``previous_session``)."""
    address = normalise_email(email) or email.strip().lower()[:254]
    keys = _throttle_keys(address, client)
    with uow_factory() as uow:
        wait = _locked_for(uow, keys, now)
        if wait:
            raise LoginThrottled(wait)
        user = uow.auth.user_by_email(address)
        stored = user["password_hash"] if user and user["active"] else None
        ok = False
        try:
            ok = (
                _hasher.verify(stored or _DUMMY_HASH, password[:_MAX_PASSWORD])
                and stored is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            _fail(uow, keys, now, policy)
            uow.audit.record(at=now, actor="anonymous", action="auth.login_failed", entity="user",
                             entity_id=user["id"] if user else None, data={})  # fmt: skip
            uow.commit()
            raise NotAuthenticated("wrong email or password")
        if _hasher.check_needs_rehash(stored or ""):
            uow.auth.update_user(user["id"], {"password_hash": _hasher.hash(password)})
        for key in keys:
            uow.auth.clear_throttle(key)
        if previous_session:
            uow.auth.end_session(_sha256(previous_session))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + policy.absolute_timeout
        uow.auth.add_session({"token_hash": _sha256(token), "user_id": user["id"],
                              "csrf_hash": _sha256(csrf), "created_at": now,
                              "last_seen_at": now, "expires_at": expires})  # fmt: skip
        uow.auth.end_sessions_before(now)
        uow.audit.record(at=now, actor=f"user:{user['id']}", action="auth.login", entity="user",
                         entity_id=user["id"], data={})  # fmt: skip
        principal = principal_for_user(uow, user)
        uow.commit()
    return SessionTokens(session=token, csrf=csrf, expires_at=expires, principal=principal)


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_hash: str

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(_sha256(token), self.csrf_hash)


def resolve_session(
    *,
    uow_factory: UnitOfWorkFactory,
    token: str,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
) -> ActiveSession:
    """The principal of a live session; :class:`NotAuthenticated` when it ended or expired."""
    token_hash = _sha256(token)
    with uow_factory(write=False) as uow:
        row = uow.auth.session(token_hash)
        user = uow.auth.user(row["user_id"]) if row else None
        if row is None or user is None or not user["active"]:
            raise NotAuthenticated("not signed in, or the session has ended")
        idle = now - row["last_seen_at"] > policy.idle_timeout
        if idle or now >= row["expires_at"]:
            expired = True
        else:
            expired = False
            principal = principal_for_user(uow, user)
    if expired:
        end_session(uow_factory=uow_factory, token=token)
        raise NotAuthenticated("the session has expired; sign in again")
    if now - row["last_seen_at"] >= policy.touch_every:
        with uow_factory() as uow:
            uow.auth.touch_session(token_hash, now)
            uow.commit()
    return ActiveSession(principal=principal, csrf_hash=row["csrf_hash"])


def end_session(*, uow_factory: UnitOfWorkFactory, token: str) -> None:
    with uow_factory() as uow:
        uow.auth.end_session(_sha256(token))
        uow.commit()


# -- API keys ---------------------------------------------------------------------------------


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
        user = uow.auth.user_by_email(_email(user_email))
        if user is None:
            raise NotFound("user", user_email)
        row: Row = {
            "id": new_id(),
            "name": name,
            "prefix": prefix,
            "key_hash": _sha256(key),
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


def _touch_key(uow_factory: UnitOfWorkFactory, row: Row, now: datetime, policy: AuthPolicy) -> None:
    last = row["last_used_at"]
    if last is None or now - last >= policy.touch_every:
        with uow_factory() as uow:
            uow.auth.update_api_key(row["id"], {"last_used_at": now})
            uow.commit()


def authenticate_key(
    *, uow_factory: UnitOfWorkFactory, key: str, now: datetime, policy: AuthPolicy = DEFAULT_POLICY
) -> KeyIdentity:
    """The identity of a presented key; :class:`NotAuthenticated` for anything not live."""
    parts = key.split("_")
    if not key.startswith(_KEY_PREFIX) or len(parts) < 3 or len(key) > 200:
        raise NotAuthenticated("not a leadfunnel API key")
    with uow_factory(write=False) as uow:
        row = _key_row(uow, parts[1])
        if row is None or not hmac.compare_digest(row["key_hash"], _sha256(key)):
            raise NotAuthenticated("unknown or revoked API key")
        identity = _identity(uow, row)
    _touch_key(uow_factory, row, now, policy)
    return identity


def signing_identity(
    *,
    uow_factory: UnitOfWorkFactory,
    prefix: str,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
) -> KeyIdentity:
    """The identity behind a key id used for HMAC signing. The caller checks the signature,
    then records the use with :func:`note_key_use`."""
    with uow_factory(write=False) as uow:
        row = _key_row(uow, prefix)
        if row is None or row["signing_secret"] is None:
            raise NotAuthenticated("unknown, revoked or unsigned key id")
        identity = _identity(uow, row)
    return identity


def note_key_use(
    *,
    uow_factory: UnitOfWorkFactory,
    identity: KeyIdentity,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
) -> None:
    """Record that a key was used (at most once per :attr:`AuthPolicy.touch_every`)."""
    _touch_key(
        uow_factory, {"id": identity.key_id, "last_used_at": identity.last_used_at}, now, policy
    )
