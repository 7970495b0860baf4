"""Opportunities, accounts and campaigns, read and written with the caller's lead scope."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.lead_queries import contains, scope_condition
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.domain.access import LeadScope
from leadfunnel.services.ports import Row

__all__ = ["SqlCrm"]


def _opportunity_scope(scope: LeadScope) -> ColumnElement[bool]:
    """An opportunity is seen with its lead, or by the people its owner is seen by."""
    if scope.everything:
        return true()
    o = t.opportunities.c
    by_lead = exists(select(t.leads.c.id).where(t.leads.c.id == o.lead_id, scope_condition(scope)))
    by_owner = o.owner_id.in_(sorted(scope.owner_ids)) if scope.owner_ids else None
    return or_(by_lead, by_owner) if by_owner is not None else by_lead


def _account_scope(scope: LeadScope) -> ColumnElement[bool]:
    """An account is seen by whoever sees one of its leads."""
    if scope.everything:
        return true()
    lead = t.leads.c
    return exists(select(lead.id).where(lead.account_id == t.accounts.c.id, scope_condition(scope)))


class SqlCrm(_Repo):
    # -- opportunities ------------------------------------------------------------------------
    def opportunities(
        self,
        *,
        scope: LeadScope,
        filters: Mapping[str, Any],
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> tuple[list[Row], int]:
        """Newest first (by creation, then id), after the keyset cursor; and the total."""
        o = t.opportunities.c
        conditions = [
            _opportunity_scope(scope),
            *(o[name] == value for name, value in filters.items()),
        ]
        total = self._run(
            select(func.count()).select_from(t.opportunities).where(*conditions)
        ).scalar_one()
        if after is not None:
            conditions.append(
                or_(o.created_at < after[0], and_(o.created_at == after[0], o.id < after[1]))
            )
        query = (select(t.opportunities).where(*conditions)
                 .order_by(o.created_at.desc(), o.id.desc()).limit(limit))  # fmt: skip
        return self._rows(query), int(total)

    def pipeline_totals(self, scope: LeadScope, stages: Sequence[str]) -> list[Row]:
        """Per stage and currency among ``stages``: deals and their summed amount."""
        o = t.opportunities.c
        query = (
            select(o.stage, o.currency, func.count().label("deals"), func.sum(o.amount).label("amount"))
            .where(_opportunity_scope(scope), o.stage.in_(list(stages)))
            .group_by(o.stage, o.currency)
        )  # fmt: skip
        return self._rows(query)

    def opportunity(self, scope: LeadScope, opportunity_id: uuid.UUID) -> Row | None:
        o = t.opportunities.c
        return self._one(
            select(t.opportunities).where(o.id == opportunity_id, _opportunity_scope(scope))
        )

    def opportunity_history(self, opportunity_id: uuid.UUID) -> list[Row]:
        h = t.opportunity_stage_history.c
        return self._rows(select(t.opportunity_stage_history).where(h.opportunity_id == opportunity_id)
                          .order_by(h.at, h.id))  # fmt: skip

    def add_opportunity(self, row: Mapping[str, Any]) -> None:
        self._insert(t.opportunities, [row])

    def update_opportunity_if_version(
        self, opportunity_id: uuid.UUID, version: int, changes: Mapping[str, Any]
    ) -> bool:
        o = t.opportunities.c
        result = self._run(t.opportunities.update().where(o.id == opportunity_id, o.version == version)
                           .values(**changes))  # fmt: skip
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def add_opportunity_history(self, row: Mapping[str, Any]) -> None:
        self._insert(t.opportunity_stage_history, [row])

    def lead_opportunity_stages(self, lead_id: uuid.UUID) -> list[str]:
        o = t.opportunities.c
        return [r.stage for r in self._run(select(o.stage).where(o.lead_id == lead_id))]

    # -- accounts -----------------------------------------------------------------------------
    def accounts(self, *, scope: LeadScope, search: str | None, after: tuple[str, uuid.UUID] | None,
                 limit: int) -> tuple[list[Row], int]:  # fmt: skip
        """By name key, then id, after the keyset cursor; and the total."""
        a = t.accounts.c
        conditions: list[ColumnElement[bool]] = [_account_scope(scope)]
        if search:
            conditions.append(contains(a.name, search))
        total = self._run(
            select(func.count()).select_from(t.accounts).where(*conditions)
        ).scalar_one()
        if after is not None:
            conditions.append(
                or_(a.name_key > after[0], and_(a.name_key == after[0], a.id > after[1]))
            )
        query = select(t.accounts).where(*conditions).order_by(a.name_key, a.id).limit(limit)
        return self._rows(query), int(total)

    def account(self, scope: LeadScope, account_id: uuid.UUID) -> Row | None:
        return self._one(
            select(t.accounts).where(t.accounts.c.id == account_id, _account_scope(scope))
        )

    def account_by_domain(self, domain: str) -> Row | None:
        return self._one(select(t.accounts).where(t.accounts.c.domain == domain))

    def add_account(self, row: Mapping[str, Any]) -> None:
        self._insert(t.accounts, [row])

    def contact_by_email(self, email: str) -> Row | None:
        return self._one(select(t.contacts).where(t.contacts.c.email == email))

    def add_contact(self, row: Mapping[str, Any]) -> None:
        self._insert(t.contacts, [row])

    def account_contacts(self, account_id: uuid.UUID) -> list[Row]:
        c = t.contacts.c
        return self._rows(
            select(t.contacts).where(c.account_id == account_id).order_by(c.last_name, c.id)
        )

    # -- campaigns ----------------------------------------------------------------------------
    def campaigns(self) -> list[Row]:
        """Every campaign with its recorded cost and the days it covers."""
        c, k = t.campaigns.c, t.campaign_costs.c
        spend = (select(k.campaign_id, func.sum(k.amount).label("cost"), func.count().label("cost_days"))
                 .group_by(k.campaign_id).subquery())  # fmt: skip
        query = (select(t.campaigns, spend.c.cost, spend.c.cost_days)
                 .select_from(t.campaigns.outerjoin(spend, spend.c.campaign_id == c.id))
                 .order_by(c.channel, c.name))  # fmt: skip
        return self._rows(query)

    def campaign(self, campaign_id: uuid.UUID) -> Row | None:
        return self._one(select(t.campaigns).where(t.campaigns.c.id == campaign_id))

    def campaign_by_name(self, name: str) -> Row | None:
        return self._one(select(t.campaigns).where(t.campaigns.c.name == name))

    def add_campaign(self, row: Mapping[str, Any]) -> None:
        self._insert(t.campaigns, [row])

    def put_cost(
        self, campaign_id: uuid.UUID, day: date, amount: Any, currency: str, new_id: uuid.UUID
    ) -> None:
        k = t.campaign_costs.c
        self._run(t.campaign_costs.delete().where(k.campaign_id == campaign_id, k.day == day))
        self._insert(t.campaign_costs, [{"id": new_id, "campaign_id": campaign_id, "day": day, "amount": amount,
                                         "currency": currency}])  # fmt: skip
