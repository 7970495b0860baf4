"""Request bodies, as pydantic models so the OpenAPI document describes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class StageMove(_Strict):
    to: str = Field(
        max_length=32, description="Target stage (lead, mql, sql, opportunity, won, lost, nurture)."
    )
    reason: str | None = Field(default=None, max_length=1000)


class ActivityBody(_Strict):
    kind: str = Field(max_length=16, description="call, email, meeting, chat, note or task.")
    at: datetime | None = Field(default=None, description="When it happened (default: now).")
    subject: str | None = Field(default=None, max_length=200)
    user_id: str | None = Field(
        default=None,
        description="Who did it (default: the caller). A rep may name only themselves.",
    )


class LeadPatch(_Strict):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=100)
    industry: str | None = Field(default=None, max_length=100)
    company_size: int | None = Field(default=None, ge=1)
    product_interest: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] | None = None


class UserBody(_Strict):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password: str | None = Field(default=None, max_length=1024)
    team: str | None = Field(default=None, max_length=100)


class ApiKeyBody(_Strict):
    name: str = Field(max_length=100)
    user_email: str | None = Field(
        default=None, max_length=254, description="Whom the key acts for (default: the caller)."
    )
    scopes: list[str] = Field(max_length=10)
    source: str | None = Field(default=None, max_length=32)
    signed: bool = False
    rate_limit: int = Field(default=600, ge=1, le=100_000)


class AssignBody(_Strict):
    rep_id: str = Field(max_length=64, description="The rep who gets the lead.")


class ReleaseBody(_Strict):
    reason: str = Field(
        min_length=1, max_length=500, description="Why the lead goes back to the pool."
    )


class TeamBody(_Strict):
    name: str = Field(max_length=100)
    region: str | None = Field(default=None, max_length=100)


class OpportunityBody(_Strict):
    lead_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    amount: float = Field(ge=0, lt=1e15)
    currency: str = Field(default="USD", max_length=3)
    stage: str = Field(default="qualification", max_length=32)
    expected_close: date | None = None


class OpportunityMove(_Strict):
    to: str = Field(max_length=32, description="qualification, proposal, negotiation, won or lost.")
    lost_reason: str | None = Field(default=None, max_length=200)


class OpportunityPatch(_Strict):
    forecast_category: str | None = Field(
        default=None, max_length=16, description="pipeline, best_case or commit (null clears)."
    )
    next_step: str | None = Field(default=None, max_length=200, description="The agreed next step.")
    expected_close: date | None = None


class CampaignBody(_Strict):
    name: str = Field(max_length=200)
    channel: str = Field(max_length=64)
    cost_per_day: float | None = Field(default=None, ge=0, lt=1e15)
    currency: str = Field(default="USD", max_length=3)
    starts_on: date | None = None
    ends_on: date | None = None


class CostBody(_Strict):
    amount: float = Field(ge=0, lt=1e15)
    currency: str | None = Field(default=None, max_length=3)  # None: the campaign's


class AccountBody(_Strict):
    name: str = Field(max_length=200)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=100)
    company_size: int | None = Field(default=None, ge=1, le=10_000_000)
    region: str | None = Field(default=None, max_length=100)


class ContactBody(_Strict):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=200)
