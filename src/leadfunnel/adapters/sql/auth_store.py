"""Users, teams, sessions, API keys and sign-in throttling (``services/auth.py`` uses these)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.services.ports import Row

__all__ = ["SqlAuth"]


class SqlAuth(_Repo):
    # -- people -------------------------------------------------------------------------------
    def user(self, user_id: uuid.UUID) -> Row | None:
        return self._one(select(t.users).where(t.users.c.id == user_id))

    def user_by_email(self, email: str) -> Row | None:
        return self._one(select(t.users).where(t.users.c.email == email))

    def users(self) -> list[Row]:
        return self._rows(select(t.users).order_by(t.users.c.email))

    def add_user(self, row: Mapping[str, Any]) -> None:
        self._insert(t.users, [row])

    def update_user(self, user_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
        self._run(update(t.users).where(t.users.c.id == user_id).values(**changes))

    def team(self, team_id: uuid.UUID) -> Row | None:
        return self._one(select(t.teams).where(t.teams.c.id == team_id))

    def team_by_name(self, name: str) -> Row | None:
        return self._one(select(t.teams).where(t.teams.c.name == name))

    def teams(self) -> list[Row]:
        return self._rows(select(t.teams).order_by(t.teams.c.name))

    def add_team(self, row: Mapping[str, Any]) -> None:
        self._insert(t.teams, [row])

    def set_team_manager(self, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self._run(update(t.teams).where(t.teams.c.id == team_id).values(manager_id=user_id))

    def team_member_ids(self, team_id: uuid.UUID) -> list[uuid.UUID]:
        c = t.users.c
        return [r.id for r in self._run(select(c.id).where(c.team_id == team_id))]

    # -- sessions -----------------------------------------------------------------------------
    def add_session(self, row: Mapping[str, Any]) -> None:
        self._insert(t.sessions, [row])

    def session(self, token_hash: str) -> Row | None:
        return self._one(select(t.sessions).where(t.sessions.c.token_hash == token_hash))

    def touch_session(self, token_hash: str, at: datetime) -> None:
        c = t.sessions.c
        self._run(update(t.sessions).where(c.token_hash == token_hash).values(last_seen_at=at))

    def end_session(self, token_hash: str) -> None:
        self._run(delete(t.sessions).where(t.sessions.c.token_hash == token_hash))

    def end_sessions_of(self, user_id: uuid.UUID) -> None:
        self._run(delete(t.sessions).where(t.sessions.c.user_id == user_id))

    def end_sessions_before(self, at: datetime) -> int:
        """Drop sessions whose absolute expiry is before ``at``; how many."""
        result = self._run(delete(t.sessions).where(t.sessions.c.expires_at < at))
        return int(getattr(result, "rowcount", 0) or 0)

    # -- API keys -----------------------------------------------------------------------------
    def add_api_key(self, row: Mapping[str, Any]) -> None:
        self._insert(t.api_keys, [row])

    def api_key(self, key_id: uuid.UUID) -> Row | None:
        return self._one(select(t.api_keys).where(t.api_keys.c.id == key_id))

    def api_key_by_prefix(self, prefix: str) -> Row | None:
        return self._one(select(t.api_keys).where(t.api_keys.c.prefix == prefix))

    def api_keys(self) -> list[Row]:
        return self._rows(select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id))

    def update_api_key(self, key_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
        self._run(update(t.api_keys).where(t.api_keys.c.id == key_id).values(**changes))

    # -- throttling ---------------------------------------------------------------------------
    def throttle(self, key: str) -> Row | None:
        return self._one(select(t.login_throttle).where(t.login_throttle.c.key == key))

    def put_throttle(self, row: Mapping[str, Any]) -> None:
        c = t.login_throttle.c
        self._run(delete(t.login_throttle).where(c.key == row["key"]))
        self._insert(t.login_throttle, [row])

    def clear_throttle(self, key: str) -> None:
        self._run(delete(t.login_throttle).where(t.login_throttle.c.key == key))
