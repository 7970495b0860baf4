"""Opportunities, accounts and campaigns, as a given caller.

* An opportunity is seen by whoever sees its lead, and by its owner's managers; it is changed
  by whoever may change its lead (``domain/access.py``). A stage move is checked against the
  pipeline (``domain/pipeline.py``) and the version the caller read (no silent overwrite),
  appends to the stage history, and keeps the lead's lifecycle in step: a lead moves to
  ``opportunity`` when its first deal opens, to ``won`` when a deal is won, and to ``lost``
  when every deal it has is lost.
* Campaigns and their daily costs are marketing's: admins and marketers change them.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from leadfunnel.domain.access import Principal, lead_scope, require_role, writable_lead
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_LIFECYCLE, Stage
from leadfunnel.domain.pipeline import (
    OPEN_STAGES,
    PIPELINE,
    STAGE_PROBABILITY,
    check_opportunity_move,
)
from leadfunnel.services.leads import StaleVersion
from leadfunnel.services.normalise import company_key, normalise_email, normalise_phone
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "OpportunityPage",
    "add_account",
    "add_contact",
    "add_campaign",
    "get_account",
    "get_opportunity",
    "list_accounts",
    "list_campaigns",
    "list_opportunities",
    "move_opportunity",
    "open_opportunity",
    "set_campaign_cost",
]

_MAX_PAGE = 1000


@dataclass(frozen=True)
class OpportunityPage:
    items: list[Row]
    total: int
    next_cursor: str | None


def _cursor(value: str, lead_id: uuid.UUID) -> str:
    raw = json.dumps([value, str(lead_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        value, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(value), uuid.UUID(key)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationError(
            "cursor", "is not a cursor from a previous page of this list"
        ) from None


def _page_limit(limit: int) -> None:
    if not 1 <= limit <= _MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {_MAX_PAGE}, got {limit}")


def _with_probability(row: Row) -> Row:
    return {**row, "probability": STAGE_PROBABILITY.get(row["stage"])}


# -- opportunities ----------------------------------------------------------------------------


def list_opportunities(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    stage: str | None = None,
    owner_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> OpportunityPage:
    """The opportunities the caller may see, newest first."""
    _page_limit(limit)
    if stage is not None and stage not in PIPELINE:
        raise ValidationError("stage", f"'{stage}' is not one of: {', '.join(PIPELINE)}")
    filters: dict[str, Any] = {
        k: v for k, v in (("stage", stage), ("owner_id", owner_id)) if v is not None
    }
    after = _after(cursor)
    parsed = (datetime.fromisoformat(after[0]), after[1]) if after else None
    with uow_factory(write=False) as uow:
        rows, total = uow.crm.opportunities(
            scope=lead_scope(principal), filters=filters, after=parsed, limit=limit
        )
    last = rows[-1] if len(rows) == limit else None
    return OpportunityPage(items=[_with_probability(r) for r in rows], total=total,
                           next_cursor=_cursor(last["created_at"].isoformat(), last["id"]) if last else None)  # fmt: skip


def _visible_opportunity(uow: UnitOfWork, principal: Principal, opportunity_id: uuid.UUID) -> Row:
    row = uow.crm.opportunity(lead_scope(principal), opportunity_id)
    if row is None:
        raise NotFound("opportunity", opportunity_id)
    return row


def get_opportunity(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, opportunity_id: uuid.UUID
) -> Row:
    """The opportunity with its stage history, oldest first."""
    with uow_factory(write=False) as uow:
        row = _visible_opportunity(uow, principal, opportunity_id)
        history = uow.crm.opportunity_history(opportunity_id)
    return {**_with_probability(row), "history": history}


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError("amount", f"'{value}' is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15"):
        raise ValidationError("amount", "must be 0 or more and below 10^15")
    return amount.quantize(Decimal("0.01"))


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError("currency", f"'{value}' is not an ISO 4217 code such as USD")
    return code


def _move_lead(
    uow: UnitOfWork, lead: Row, target: Stage, *, reason: str | None, actor: str, now: datetime
) -> None:
    """Move the lead along with its deals, when its lifecycle allows that move."""
    last = uow.transitions.last_for(lead["id"])
    current = Stage(last["to_stage"]) if last else Stage(lead["stage"])
    if current == target or target not in DEFAULT_LIFECYCLE.allowed_from(current):
        return
    at = max(now, last["at"]) if last else now
    uow.transitions.append({"id": new_id(), "lead_id": lead["id"], "from_stage": current.value,
                            "to_stage": target.value, "at": at, "actor": actor, "reason": reason})  # fmt: skip
    uow.leads.update(lead["id"], {"stage": target.value, "stage_entered_at": at, "updated_at": now,
                                  "version": lead["version"] + 1})  # fmt: skip


def open_opportunity(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    lead_id: uuid.UUID,
    name: str,
    amount: Any,
    currency: str = "USD",
    stage: str = "qualification",
    expected_close: date | None = None,
    now: datetime,
) -> Row:
    """Open a deal on a lead (the caller must be allowed to change the lead); the lead moves
    to ``opportunity`` if its lifecycle allows."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if stage not in OPEN_STAGES:
        raise ValidationError("stage", f"a new deal starts in one of: {', '.join(OPEN_STAGES)}")
    with uow_factory() as uow:
        lead = dict(writable_lead(principal, uow.leads.get(lead_id), lead_id))
        row: Row = {"id": new_id(), "lead_id": lead_id, "account_id": lead["account_id"],
                    "owner_id": lead["owner_id"] or principal.user_id, "name": name, "amount": _amount(amount),
                    "currency": _currency(currency), "expected_close": expected_close, "stage": stage,
                    "lost_reason": None, "closed_at": None, "created_at": now, "updated_at": now, "version": 1}  # fmt: skip
        uow.crm.add_opportunity(row)
        uow.crm.add_opportunity_history({"id": new_id(), "opportunity_id": row["id"], "from_stage": None,
                                         "to_stage": stage, "at": now, "actor": principal.actor, "reason": None})  # fmt: skip
        _move_lead(
            uow,
            lead,
            Stage.OPPORTUNITY,
            reason=f"deal opened: {name}",
            actor=principal.actor,
            now=now,
        )
        uow.audit.record(at=now, actor=principal.actor, action="opportunity.opened", entity="opportunity",
                         entity_id=row["id"], data={"lead_id": str(lead_id), "amount": str(row["amount"])})  # fmt: skip
        uow.commit()
    return _with_probability(row)


def move_opportunity(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    opportunity_id: uuid.UUID,
    to: str,
    expected_version: int,
    lost_reason: str | None = None,
    now: datetime,
) -> Row:
    """Move a deal to another pipeline stage (what a kanban drag does)."""
    with uow_factory() as uow:
        row = _visible_opportunity(uow, principal, opportunity_id)
        lead = uow.leads.get(row["lead_id"]) if row["lead_id"] else None
        if lead is not None:
            writable_lead(principal, lead, row["lead_id"])
        elif principal.role not in ("admin",) and row["owner_id"] != principal.user_id:
            require_role(principal, "admin", action="moving a deal without a lead")
        if row["version"] != expected_version:
            raise StaleVersion(opportunity_id, expected_version, row["version"])
        check_opportunity_move(row["stage"], to, lost_reason)
        closed = to in ("won", "lost")
        changes = {"stage": to, "updated_at": now, "version": expected_version + 1,
                   "lost_reason": lost_reason.strip() if to == "lost" and lost_reason else None,
                   "closed_at": now if closed else None}  # fmt: skip
        if not uow.crm.update_opportunity_if_version(opportunity_id, expected_version, changes):
            raise StaleVersion(opportunity_id, expected_version, expected_version + 1)
        uow.crm.add_opportunity_history({"id": new_id(), "opportunity_id": opportunity_id, "from_stage": row["stage"],
                                         "to_stage": to, "at": now, "actor": principal.actor,
                                         "reason": changes["lost_reason"]})  # fmt: skip
        if lead is not None and to == "won":
            _move_lead(
                uow,
                lead,
                Stage.WON,
                reason=f"deal won: {row['name']}",
                actor=principal.actor,
                now=now,
            )
        elif (
            lead is not None
            and to == "lost"
            and all(stage == "lost" for stage in uow.crm.lead_opportunity_stages(lead["id"]))
        ):
            _move_lead(uow, lead, Stage.LOST, reason=lost_reason, actor=principal.actor, now=now)
        uow.audit.record(at=now, actor=principal.actor, action="opportunity.moved", entity="opportunity",
                         entity_id=opportunity_id, data={"from": row["stage"], "to": to})  # fmt: skip
        updated = uow.crm.opportunity(lead_scope(principal), opportunity_id) or {**row, **changes}
        uow.commit()
    return _with_probability(updated)


# -- accounts ---------------------------------------------------------------------------------


def list_accounts(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    search: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> OpportunityPage:
    """Companies the caller sees a lead of, by name."""
    _page_limit(limit)
    with uow_factory(write=False) as uow:
        rows, total = uow.crm.accounts(
            scope=lead_scope(principal), search=search, after=_after(cursor), limit=limit
        )
    last = rows[-1] if len(rows) == limit else None
    return OpportunityPage(items=rows, total=total,
                           next_cursor=_cursor(last["name_key"], last["id"]) if last else None)  # fmt: skip


def get_account(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, account_id: uuid.UUID
) -> Row:
    """The company with its contacts."""
    with uow_factory(write=False) as uow:
        row = uow.crm.account(lead_scope(principal), account_id)
        if row is None:
            raise NotFound("account", account_id)
        contacts = uow.crm.account_contacts(account_id)
    return {**row, "contacts": contacts}


def add_account(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    name: str,
    domain: str | None = None,
    industry: str | None = None,
    company_size: int | None = None,
    region: str | None = None,
    now: datetime,
) -> Row:
    """A company record (admins and marketers: an account no lead links to yet is seen only
    by those who see every lead). The domain is unique: one company, one account."""
    require_role(principal, "admin", "marketer", action="creating accounts")
    clean = name.strip()
    if not 1 <= len(clean) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    host = domain.strip().lower() if domain else None
    if host is not None and ("." not in host or " " in host or len(host) > 253):
        raise ValidationError("domain", f"'{domain}' is not a domain name such as acme.example")
    if company_size is not None and company_size < 1:
        raise ValidationError("company_size", "must be a positive number of employees")
    with uow_factory() as uow:
        if host is not None and uow.crm.account_by_domain(host) is not None:
            raise ValidationError("domain", f"an account with the domain {host} already exists")
        row: Row = {"id": new_id(), "name": clean, "name_key": company_key(clean) or clean.lower(),
                    "domain": host, "industry": industry, "company_size": company_size, "region": region,
                    "created_at": now, "updated_at": now}  # fmt: skip
        uow.crm.add_account(row)
        uow.audit.record(at=now, actor=principal.actor, action="account.created", entity="account",
                         entity_id=row["id"], data={"name": clean, "domain": host})  # fmt: skip
        uow.commit()
    return row


def add_contact(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    account_id: uuid.UUID,
    email: str | None,
    first_name: str | None = None,
    last_name: str | None = None,
    title: str | None = None,
    phone: str | None = None,
    now: datetime,
    default_region: str = "US",
) -> Row:
    """A person at a company the caller sees; the email is normalised and unique."""
    address = normalise_email(email) if email else None
    if email and address is None:
        raise ValidationError("email", f"'{email}' is not a valid email address")
    number = normalise_phone(phone, default_region) if phone else None
    if address is None and number is None:
        raise ValidationError("email", "give an email or a phone number")
    with uow_factory() as uow:
        if uow.crm.account(lead_scope(principal), account_id) is None:
            raise NotFound("account", account_id)
        require_role(principal, "admin", "manager", "marketer", "rep", action="adding contacts")
        if address is not None and uow.crm.contact_by_email(address) is not None:
            raise ValidationError("email", f"a contact with the email {address} already exists")
        row: Row = {"id": new_id(), "account_id": account_id, "email": address, "phone": number,
                    "first_name": first_name, "last_name": last_name, "title": title,
                    "created_at": now, "updated_at": now}  # fmt: skip
        uow.crm.add_contact(row)
        uow.audit.record(at=now, actor=principal.actor, action="contact.created", entity="contact",
                         entity_id=row["id"], data={"account_id": str(account_id)})  # fmt: skip
        uow.commit()
    return row


# -- campaigns --------------------------------------------------------------------------------


def list_campaigns(*, uow_factory: UnitOfWorkFactory) -> list[Row]:
    """Every campaign with its recorded cost (the sum of its daily costs)."""
    with uow_factory(write=False) as uow:
        return uow.crm.campaigns()


def add_campaign(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    name: str,
    channel: str,
    cost_per_day: Any = None,
    currency: str = "USD",
    starts_on: date | None = None,
    ends_on: date | None = None,
    now: datetime,
) -> Row:
    require_role(principal, "admin", "marketer", action="creating campaigns")
    name, channel = name.strip(), channel.strip().lower()
    if not 1 <= len(name) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if not channel or len(channel) > 64:
        raise ValidationError("channel", "must be 1 to 64 characters")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError("ends_on", "is before starts_on")
    with uow_factory() as uow:
        if uow.crm.campaign_by_name(name) is not None:
            raise ValidationError("name", f"a campaign named '{name}' already exists")
        row: Row = {"id": new_id(), "name": name, "channel": channel,
                    "cost_per_day": _amount(cost_per_day) if cost_per_day is not None else None,
                    "currency": _currency(currency), "starts_on": starts_on, "ends_on": ends_on, "created_at": now}  # fmt: skip
        uow.crm.add_campaign(row)
        uow.audit.record(at=now, actor=principal.actor, action="campaign.created", entity="campaign",
                         entity_id=row["id"], data={"name": name, "channel": channel})  # fmt: skip
        uow.commit()
    return row


def set_campaign_cost(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    campaign_id: uuid.UUID,
    day: date,
    amount: Any,
    currency: str,
    now: datetime,
) -> Mapping[str, Any]:
    """Record (or replace) what a campaign cost on one day."""
    require_role(principal, "admin", "marketer", action="recording campaign costs")
    value, code = _amount(amount), _currency(currency)
    with uow_factory() as uow:
        if uow.crm.campaign(campaign_id) is None:
            raise NotFound("campaign", campaign_id)
        uow.crm.put_cost(campaign_id, day, value, code, new_id())
        uow.audit.record(at=now, actor=principal.actor, action="campaign.cost_set", entity="campaign",
                         entity_id=campaign_id, data={"day": day.isoformat(), "amount": str(value)})  # fmt: skip
        uow.commit()
    return {"campaign_id": campaign_id, "day": day, "amount": value, "currency": code}
