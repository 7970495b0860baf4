"""Repositories over one SQLAlchemy connection (one open transaction).

All SQL is built with SQLAlchemy Core, so every value is a bound parameter. A unique-key
violation surfaces as :class:`ConcurrentWrite` so the use case can retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Connection, Executable, Result, Table, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.sqlite_rows import sqlite_insert_plan, sqlite_processors
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
_BIND_ROWS = 500
_LOOKUP_IDS = 5000  # ids per IN list (SQLite binds at most 32,766 parameters)


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _run(
        self, statement: Executable, params: Sequence[Mapping[str, Any]] | None = None
    ) -> Result[Any]:
        try:
            return (
                self._conn.execute(statement, params)
                if params is not None
                else self._conn.execute(statement)
            )
        except IntegrityError as exc:
            if any(marker in str(exc.orig).lower() for marker in _UNIQUE_MARKERS):
                raise ConcurrentWrite(str(exc.orig)) from exc
            raise

    def _insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if self._conn.dialect.name != "sqlite":
            self._run(table.insert(), rows)
            return
        plan = sqlite_insert_plan(self._conn.dialect, table, tuple(rows[0]))
        # A few hundred rows at a time: binding transposes the rows, and a larger slice no
        # longer fits the CPU's cache (5,000 lead rows bind at 1.4 times the cost per row).
        for start in range(0, len(rows), _BIND_ROWS):
            for positions, params in plan.bind(rows[start : start + _BIND_ROWS]).items():
                self._driver_sql(plan.sql(positions), params)

    def _driver_sql(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        try:
            self._conn.exec_driver_sql(sql, params)
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
    def find_by_identities(
        self, *, emails: Sequence[str], phones: Sequence[str], external_ids: Sequence[str]
    ) -> list[Row]:
        c = t.leads.c
        conditions = [
            column.in_(values)
            for column, values in (
                (c.email, emails),
                (c.phone, phones),
                (c.external_id, external_ids),
            )
            if values
        ]
        return self._rows(select(t.leads).where(or_(*conditions))) if conditions else []

    def get(self, lead_id: uuid.UUID) -> Row | None:
        return self._one(select(t.leads).where(t.leads.c.id == lead_id))

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.leads, rows)

    def update_many(self, rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str]) -> None:
        SqlRecords(self._conn).update("leads", rows, columns=columns)

    def update(self, lead_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
        self._run(t.leads.update().where(t.leads.c.id == lead_id).values(**changes))

    def current_stages(self) -> dict[uuid.UUID, str]:
        return {r.id: r.stage for r in self._run(select(t.leads.c.id, t.leads.c.stage))}

    def stages_and_values(self, dimension: str) -> dict[uuid.UUID, tuple[str, Any]]:
        c = t.leads.c
        rows = self._run(select(c.id, c.stage, c[dimension].label("value"))).mappings()
        return {r["id"]: (r["stage"], r["value"]) for r in rows}

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
        self._insert(t.stage_transitions, [row])

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.stage_transitions, rows)

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
    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.touchpoints, rows)

    def for_lead(self, lead_id: uuid.UUID) -> list[Row]:
        c = t.touchpoints.c
        return self._rows(select(t.touchpoints).where(c.lead_id == lead_id).order_by(c.at, c.id))

    def intake_keys(
        self, lead_ids: Sequence[uuid.UUID]
    ) -> list[tuple[str, str, uuid.UUID, uuid.UUID]]:
        """(idempotency key, request hash, lead id, touchpoint id) of the touchpoints of
        ``lead_ids`` that keep an intake's idempotency key (``services/intake.py``)."""
        c = t.touchpoints.c
        key = c.properties["idempotency_key"].as_string()
        found: list[tuple[str, str, uuid.UUID, uuid.UUID]] = []
        for start in range(0, len(lead_ids), _LOOKUP_IDS):
            statement = select(
                key, c.properties["request_hash"].as_string(), c.lead_id, c.id
            ).where(c.lead_id.in_(list(lead_ids[start : start + _LOOKUP_IDS])), key.is_not(None))
            found += [tuple(r) for r in self._run(statement)]
        return found


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

    def record_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.audit_log, rows)

    def for_entity(self, entity: str, entity_id: uuid.UUID) -> list[Row]:
        c = t.audit_log.c
        return self._rows(
            select(t.audit_log)
            .where(c.entity == entity, c.entity_id == entity_id)
            .order_by(c.at, c.id)
        )


class SqlIdempotency(_Repo):
    def get_many(self, keys: Sequence[str]) -> dict[str, Row]:
        if not keys:
            return {}
        rows = self._rows(select(t.idempotency_keys).where(t.idempotency_keys.c.key.in_(keys)))
        return {row["key"]: row for row in rows}

    def put_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.idempotency_keys, rows)


class SqlRecords(_Repo):
    """Multi-row access for bulk use cases, limited to the tables named here."""

    TABLES: ClassVar[dict[str, Table]] = {
        name: t.metadata.tables[name]
        for name in (
            "users", "assignments", "touchpoints", "activities", "opportunities",
            "opportunity_stage_history", "campaigns", "campaign_costs", "import_jobs", "import_errors",
            "leads", "stage_transitions", "audit_log",
            "predictive_models", "lead_predictions", "saved_views",
        )
    }  # fmt: skip

    def _table(self, name: str) -> Table:
        try:
            return self.TABLES[name]
        except KeyError:
            raise ValueError(f"table {name!r} is not open to bulk access") from None

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(self._table(table), rows)

    def select_in(self, table: str, column: str, values: Sequence[Any]) -> list[Row]:
        if not values:
            return []
        target = self._table(table)
        return self._rows(select(target).where(target.c[column].in_(list(values))))

    def scan(self, table: str, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        target = self._table(table)
        # A server-side cursor on PostgreSQL, fetched in chunks: the whole table never sits
        # in the driver's buffer at once.
        statement = select(*(target.c[c] for c in columns)).execution_options(
            stream_results=True, yield_per=5000
        )
        for row in self._run(statement):
            yield tuple(row)

    def delete_in(
        self,
        table: str,
        column: str,
        values: Sequence[Any],
        *,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        if not values:
            return
        target = self._table(table)
        conditions = [target.c[column].in_(list(values))]
        conditions += [target.c[name] == value for name, value in (where or {}).items()]
        self._run(target.delete().where(*conditions))

    def update(
        self, table: str, rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str]
    ) -> None:
        if not rows:
            return
        target = self._table(table)
        if self._conn.dialect.name == "sqlite":
            self._update_sqlite(target, rows, tuple(columns))
            return
        statement = (
            target.update()
            .where(target.c.id == bindparam("_id"))
            .values({n: bindparam(f"_{n}") for n in columns})
        )
        self._run(statement, [{"_id": r["id"], **{f"_{n}": r[n] for n in columns}} for r in rows])

    def _update_sqlite(
        self, table: Table, rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...]
    ) -> None:
        """The same UPDATE, positional, with SQLAlchemy's processors (as in :meth:`_insert`)."""
        names = (*columns, "id")
        processors = sqlite_processors(self._conn.dialect, table, names)
        assignments = ", ".join(f'"{n}" = ?' for n in columns)
        # Names come from the declared tables, never from input; values are bound parameters.
        sql = f'UPDATE "{table.name}" SET {assignments} WHERE "id" = ?'  # noqa: S608
        params = [
            tuple(
                v if p is None else p(v)
                for p, v in zip(processors, map(row.__getitem__, names), strict=True)
            )
            for row in rows
        ]
        self._driver_sql(sql, params)
