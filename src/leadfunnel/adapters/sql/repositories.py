"""Repositories over one SQLAlchemy connection (one open transaction).

All SQL is built with SQLAlchemy Core, so every value is a bound parameter. A unique-key
violation surfaces as :class:`ConcurrentWrite` so the use case can retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Result, func, or_, select
from sqlalchemy.exc import IntegrityError

from leadfunnel.adapters.sql import tables as t
from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import ConcurrentWrite, Row

__all__ = [
    "SqlActivities",
    "SqlAudit",
    "SqlIdempotency",
    "SqlLeads",
    "SqlTouchpoints",
    "SqlTransitions",
]

_UNIQUE_MARKERS = ("unique", "duplicate key")


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _run(self, statement: Executable) -> Result[Any]:
        try:
            return self._conn.execute(statement)
        except IntegrityError as exc:
            if any(marker in str(exc.orig).lower() for marker in _UNIQUE_MARKERS):
                raise ConcurrentWrite(str(exc.orig)) from exc
            raise

    def _rows(self, statement: Executable) -> list[Row]:
        return [dict(r) for r in self._run(statement).mappings()]

    def _one(self, statement: Executable) -> Row | None:
        row = self._run(statement).mappings().first()
        return dict(row) if row is not None else None


class SqlLeads(_Repo):
    def find_match(
        self, *, email: str | None, phone: str | None, external_id: str | None
    ) -> tuple[Row, str] | None:
        keys = {"email": email, "phone": phone, "external_id": external_id}
        conditions = [t.leads.c[name] == value for name, value in keys.items() if value is not None]
        if not conditions:
            return None
        candidates = self._rows(select(t.leads).where(or_(*conditions)))
        for name, value in keys.items():  # priority order: email, phone, external id
            for lead in candidates:
                if value is not None and lead[name] == value:
                    return lead, name
        return None

    def get(self, lead_id: uuid.UUID) -> Row | None:
        return self._one(select(t.leads).where(t.leads.c.id == lead_id))

    def insert(self, row: Mapping[str, Any]) -> None:
        self._run(t.leads.insert().values(**row))

    def update(self, lead_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
        self._run(t.leads.update().where(t.leads.c.id == lead_id).values(**changes))

    def current_stages(self) -> dict[uuid.UUID, str]:
        return {r.id: r.stage for r in self._run(select(t.leads.c.id, t.leads.c.stage))}

    def list(self, *, filters: Mapping[str, Any], limit: int, offset: int) -> tuple[list[Row], int]:
        conditions = []
        for name, value in filters.items():
            if name == "search":
                pattern = (
                    "%"
                    + str(value)
                    .lower()
                    .replace("\\", "\\\\")
                    .replace("%", "\\%")
                    .replace("_", "\\_")
                    + "%"
                )
                columns = ("email", "phone", "company", "first_name", "last_name", "external_id")
                conditions.append(
                    or_(*(func.lower(t.leads.c[c]).like(pattern, escape="\\") for c in columns))
                )
            else:
                conditions.append(t.leads.c[name] == value)
        total = self._run(select(func.count()).select_from(t.leads).where(*conditions)).scalar_one()
        query = (
            select(t.leads)
            .where(*conditions)
            .order_by(t.leads.c.created_at.desc(), t.leads.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return self._rows(query), int(total)


class SqlTransitions(_Repo):
    def append(self, row: Mapping[str, Any]) -> None:
        self._run(t.stage_transitions.insert().values(**row))

    def last_for(self, lead_id: uuid.UUID) -> Row | None:
        c = t.stage_transitions.c
        return self._one(
            select(t.stage_transitions)
            .where(c.lead_id == lead_id)
            .order_by(c.at.desc(), c.id.desc())
            .limit(1)
        )

    def for_lead(self, lead_id: uuid.UUID) -> list[Row]:
        c = t.stage_transitions.c
        return self._rows(
            select(t.stage_transitions).where(c.lead_id == lead_id).order_by(c.at, c.id)
        )

    def stages_entered(self) -> list[tuple[uuid.UUID, str]]:
        c = t.stage_transitions.c
        return [
            (r.lead_id, r.to_stage) for r in self._run(select(c.lead_id, c.to_stage).distinct())
        ]


class SqlTouchpoints(_Repo):
    def add(self, row: Mapping[str, Any]) -> None:
        self._run(t.touchpoints.insert().values(**row))

    def for_lead(self, lead_id: uuid.UUID) -> list[Row]:
        c = t.touchpoints.c
        return self._rows(select(t.touchpoints).where(c.lead_id == lead_id).order_by(c.at, c.id))


class SqlActivities(_Repo):
    def for_lead(self, lead_id: uuid.UUID) -> list[Row]:
        c = t.activities.c
        return self._rows(select(t.activities).where(c.lead_id == lead_id).order_by(c.at, c.id))


class SqlAudit(_Repo):
    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity: str,
        entity_id: uuid.UUID | None,
        data: Mapping[str, Any],
    ) -> None:
        self._run(
            t.audit_log.insert().values(
                id=new_id(),
                at=at,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                data=dict(data),
            )
        )

    def for_entity(self, entity: str, entity_id: uuid.UUID) -> list[Row]:
        c = t.audit_log.c
        return self._rows(
            select(t.audit_log)
            .where(c.entity == entity, c.entity_id == entity_id)
            .order_by(c.at, c.id)
        )


class SqlIdempotency(_Repo):
    def get(self, key: str) -> Row | None:
        return self._one(select(t.idempotency_keys).where(t.idempotency_keys.c.key == key))

    def put(
        self, *, key: str, request_hash: str, response: Mapping[str, Any], at: datetime
    ) -> None:
        self._run(
            t.idempotency_keys.insert().values(
                key=key, request_hash=request_hash, response=dict(response), created_at=at
            )
        )
