"""Companies (accounts and their contacts) and campaigns with their daily costs, as a given
caller. An account is seen by whoever sees one of its leads; campaigns are marketing's:
admins and marketers change them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from leadfunnel.domain.access import Principal, lead_scope, require_role
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.money import parse_amount, parse_currency
from leadfunnel.services.normalise import (
    company_key,
    normalise_channel,
    normalise_email,
    normalise_phone,
)
from leadfunnel.services.paging import Page, check_limit, decode_cursor, encode_cursor
from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = [
    "add_account",
    "check_cost_day",
    "add_campaign",
    "add_contact",
    "get_account",
    "list_accounts",
    "list_campaigns",
    "set_campaign_cost",
]
#: The accounts list's order, named in its cursors (a cursor from another list is refused).
_ACCOUNTS_ORDER = "accounts:name"


def list_accounts(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    search: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Companies the caller sees a lead of, by name."""
    check_limit(limit)
    with uow_factory(write=False) as uow:
        rows, total = uow.crm.accounts(
            scope=lead_scope(principal),
            search=search,
            after=decode_cursor(cursor, order=_ACCOUNTS_ORDER),
            limit=limit,
        )
    last = rows[-1] if len(rows) == limit else None
    return Page(items=rows, total=total,
                           next_cursor=encode_cursor(last["name_key"], last["id"], order=_ACCOUNTS_ORDER) if last else None)  # fmt: skip


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
    """A campaign in a channel; the channel is slugged as intake slugs a lead's
    (``'Paid Search'`` -> ``'paid_search'``), so its cost lands in the leads' channel."""
    require_role(principal, "admin", "marketer", action="creating campaigns")
    name, channel = name.strip(), normalise_channel(channel)
    if not 1 <= len(name) <= 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError("ends_on", "is before starts_on")
    with uow_factory() as uow:
        if uow.crm.campaign_by_name(name) is not None:
            raise ValidationError("name", f"a campaign named '{name}' already exists")
        row: Row = {"id": new_id(), "name": name, "channel": channel,
                    "cost_per_day": parse_amount(cost_per_day, field="cost_per_day") if cost_per_day is not None else None,
                    "currency": parse_currency(currency), "starts_on": starts_on, "ends_on": ends_on, "created_at": now}  # fmt: skip
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
    currency: str | None,
    now: datetime,
) -> Mapping[str, Any]:
    """Record (or replace) what a campaign cost on one day (``currency`` None: the
    campaign's).

    Costs are summed per campaign, so a day's cost is in the campaign's currency (no
    conversion: a EUR amount on a USD campaign is refused). A day may be budgeted ahead, up
    to one year after today (``now``): with the clock on 2026-03-02, 2027-03-02 is accepted
    and 2027-03-03 is not.
    """
    require_role(principal, "admin", "marketer", action="recording campaign costs")
    value = parse_amount(amount, field="amount")
    given = None if currency is None else parse_currency(currency)
    check_cost_day(day, now.date())
    with uow_factory() as uow:
        campaign = uow.crm.campaign(campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        code = campaign["currency"]
        if given is not None and given != code:
            raise ValidationError(
                "currency", f"{given} is not the campaign's currency: its costs are in {code}"
            )
        uow.crm.put_cost(campaign_id, day, value, code, new_id())
        uow.audit.record(at=now, actor=principal.actor, action="campaign.cost_set", entity="campaign",
                         entity_id=campaign_id, data={"day": day.isoformat(), "amount": str(value)})  # fmt: skip
        uow.commit()
    return {"campaign_id": campaign_id, "day": day, "amount": value, "currency": code}


def check_cost_day(day: date, today: date) -> None:
    """A cost day may be budgeted at most a year ahead (a typo'd year is refused)."""
    latest = _one_year_after(today)
    if day > latest:
        raise ValidationError(
            "day", f"{day.isoformat()} is more than a year ahead (latest {latest.isoformat()})"
        )


def _one_year_after(today: date) -> date:
    """The same day next year; 29 February falls back to 28 February."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)
