"""People and sign-in sessions (docs/concepts/access.md); API keys are in ``api_keys.py``.

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
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from leadfunnel.domain.access import ROLES, SCOPES, Principal, Role
from leadfunnel.domain.errors import DomainError, NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.normalise import normalise_email
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AuthPolicy",
    "LoginThrottled",
    "NotAuthenticated",
    "SessionTokens",
    "DEFAULT_POLICY",
    "add_team",
    "add_user",
    "checked_email",
    "list_teams",
    "list_users",
    "end_session",
    "login",
    "principal_for_user",
    "resolve_session",
    "set_password",
    "token_digest",
]

_hasher = PasswordHasher()
# Verified against when the account does not exist, so unknown emails cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_MIN_PASSWORD = 12
_MAX_PASSWORD = 1024


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


def token_digest(text: str) -> str:
    """What the store keeps of a session token or API key: its SHA-256, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def _check_password(password: str) -> None:
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise ValidationError(
            "password", f"must be {_MIN_PASSWORD} to {_MAX_PASSWORD} characters long"
        )


def checked_email(value: str) -> str:
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
    address = checked_email(email)
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
    address = checked_email(email)
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
            uow.auth.end_session(token_digest(previous_session))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + policy.absolute_timeout
        uow.auth.add_session({"token_hash": token_digest(token), "user_id": user["id"],
                              "csrf_hash": token_digest(csrf), "created_at": now,
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
        return token is not None and hmac.compare_digest(token_digest(token), self.csrf_hash)


def resolve_session(
    *,
    uow_factory: UnitOfWorkFactory,
    token: str,
    now: datetime,
    policy: AuthPolicy = DEFAULT_POLICY,
) -> ActiveSession:
    """The principal of a live session; :class:`NotAuthenticated` when it ended or expired."""
    token_hash = token_digest(token)
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
        uow.auth.end_session(token_digest(token))
        uow.commit()
