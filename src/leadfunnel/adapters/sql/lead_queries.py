"""Lead reads and writes that carry the caller's access scope: keyset pages and versioned
updates (the repository the unit of work hands out as ``uow.leads``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import SqlLeads
from leadfunnel.domain.access import LeadScope
from leadfunnel.services.ports import Row

__all__ = ["SqlLeadStore", "contains", "scope_condition"]

#: Missing scores sort as this, so a keyset cursor never meets a NULL.
_NO_SCORE = -1


def scope_condition(scope: LeadScope) -> ColumnElement[bool]:
    """``scope`` as a WHERE condition on ``leads``."""
    if scope.everything:
        return true()
    c = t.leads.c
    parts: list[ColumnElement[bool]] = []
    if scope.owner_ids:
        parts.append(c.owner_id.in_(sorted(scope.owner_ids)))
    if scope.team_id is not None:
        parts.append(c.team_id == scope.team_id)
    if scope.pool:
        parts.append(c.in_pool.is_(True))
    return or_(*parts) if parts else false()


def contains(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """``column`` contains ``value``, case-insensitively, with LIKE wildcards taken literally."""
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def _search(value: str) -> ColumnElement[bool]:
    columns = ("email", "phone", "company", "first_name", "last_name", "external_id")
    return or_(*(contains(t.leads.c[col], value) for col in columns))


class SqlLeadStore(SqlLeads):
    def page(
        self,
        *,
        scope: LeadScope,
        filters: Mapping[str, Any],
        sort: str,
        descending: bool,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> tuple[list[Row], int]:
        """Up to ``limit`` leads in ``scope`` matching ``filters``, ordered by ``sort`` then
        id, starting after the cursor ``after`` = (sort value, id); and the total matching."""
        c = t.leads.c
        conditions: list[ColumnElement[bool]] = [scope_condition(scope)]
        for name, value in filters.items():
            conditions.append(_search(str(value)) if name == "search" else c[name] == value)
        total = self._run(select(func.count()).select_from(t.leads).where(*conditions)).scalar_one()
        key = func.coalesce(c.score, _NO_SCORE) if sort == "score" else c[sort]
        if after is not None:
            value, last_id = after
            if descending:
                conditions.append(or_(key < value, and_(key == value, c.id < last_id)))
            else:
                conditions.append(or_(key > value, and_(key == value, c.id > last_id)))
        order = (key.desc(), c.id.desc()) if descending else (key.asc(), c.id.asc())
        query = select(t.leads).where(*conditions).order_by(*order).limit(limit)
        return self._rows(query), int(total)

    def update_if_version(
        self, lead_id: uuid.UUID, version: int, changes: Mapping[str, Any]
    ) -> bool:
        """Apply ``changes`` (which must bump ``version``) only if the stored version is still
        ``version``: one conditional UPDATE, so two writers cannot both win."""
        c = t.leads.c
        result = self._run(
            t.leads.update().where(c.id == lead_id, c.version == version).values(**changes)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def visible_ids(self, scope: LeadScope, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``ids`` that ``scope`` admits."""
        if not ids:
            return set()
        query = select(t.leads.c.id).where(t.leads.c.id.in_(list(ids)), scope_condition(scope))
        return {r.id for r in self._run(query)}
