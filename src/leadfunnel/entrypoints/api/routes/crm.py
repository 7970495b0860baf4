"""Opportunities (the pipeline), accounts and campaigns over HTTP."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from leadfunnel.domain.access import require_role, require_scope
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.entrypoints.api.problems import ApiProblem
from leadfunnel.entrypoints.api.schemas import (
    AccountBody,
    CampaignBody,
    ContactBody,
    CostBody,
    OpportunityBody,
    OpportunityMove,
    OpportunityPatch,
)
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.crm import (
    add_account,
    add_campaign,
    add_contact,
    get_account,
    list_accounts,
    list_campaigns,
    set_campaign_cost,
)
from leadfunnel.services.opportunities import (
    get_opportunity,
    list_opportunities,
    move_opportunity,
    open_opportunity,
    update_opportunity,
)

__all__ = ["router"]

router = APIRouter(tags=["pipeline"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=500)]


def _uuid(value: str, kind: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(kind, value) from None


def _numbers(value: Any) -> dict[str, Any]:
    """Money (``Decimal``) as JSON numbers, as in a single deal's answer (:func:`_tagged`) and
    the analytics; returned as a plain ``dict`` the framework would write it as a string."""
    encoded: dict[str, Any] = jsonable_encoder(value)
    return encoded


def _tagged(row: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(row), status_code=status, headers={"ETag": f'"v{row["version"]}"'}
    )


@router.get("/opportunities", summary="Deals the caller may see, newest first")
def opportunities_route(
    request: Request,
    who: CallerDep,
    stage: Annotated[str | None, Query(max_length=32)] = None,
    owner_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    owner = None
    if owner_id is not None:
        try:
            owner = uuid.UUID(owner_id)
        except ValueError:
            raise ValidationError("owner_id", f"'{owner_id}' is not a UUID") from None
    page = list_opportunities(uow_factory=state_of(request).app.uow_factory, principal=who.principal, stage=stage,
                              owner_id=owner, cursor=cursor, limit=limit)  # fmt: skip
    return _numbers({"items": page.items, "total": page.total, "limit": limit,
                     "next_cursor": page.next_cursor})  # fmt: skip


@router.post("/opportunities", status_code=201, summary="Open a deal on a lead")
def open_route(request: Request, who: CallerDep, body: OpportunityBody) -> JSONResponse:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    row = open_opportunity(uow_factory=state.app.uow_factory, principal=who.principal,
                           lead_id=_uuid(body.lead_id, "lead"), name=body.name, amount=body.amount,
                           currency=body.currency, stage=body.stage, expected_close=body.expected_close,
                           now=state.now())  # fmt: skip
    return _tagged(row, 201)


@router.get("/opportunities/{opportunity_id}", summary="A deal with its stage history")
def opportunity_route(request: Request, who: CallerDep, opportunity_id: str) -> JSONResponse:
    require_scope(who.principal, "leads:read")
    row = get_opportunity(uow_factory=state_of(request).app.uow_factory, principal=who.principal,
                          opportunity_id=_uuid(opportunity_id, "opportunity"))  # fmt: skip
    return _tagged(row)


@router.post("/opportunities/{opportunity_id}/stage", summary="Move a deal (needs If-Match)")
def move_route(
    request: Request,
    who: CallerDep,
    opportunity_id: str,
    body: OpportunityMove,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    require_scope(who.principal, "leads:write")
    if if_match is None:
        raise ApiProblem(428, "send If-Match with the ETag from your last read of this deal",
                         code="precondition_required")  # fmt: skip
    tag = if_match.strip().removeprefix("W/")
    if not (tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit()):
        raise ApiProblem(
            412, f"If-Match {if_match!r} is not an ETag of this deal", code="precondition_failed"
        )
    state = state_of(request)
    row = move_opportunity(uow_factory=state.app.uow_factory, principal=who.principal,
                           opportunity_id=_uuid(opportunity_id, "opportunity"), to=body.to,
                           expected_version=int(tag[2:-1]), lost_reason=body.lost_reason, now=state.now())  # fmt: skip
    return _tagged(row)


@router.patch(
    "/opportunities/{opportunity_id}",
    summary="Set a deal's forecast category, next step or expected close (needs If-Match)",
)
def patch_route(
    request: Request,
    who: CallerDep,
    opportunity_id: str,
    body: OpportunityPatch,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    require_scope(who.principal, "leads:write")
    if if_match is None:
        raise ApiProblem(428, "send If-Match with the ETag from your last read of this deal",
                         code="precondition_required")  # fmt: skip
    tag = if_match.strip().removeprefix("W/")
    if not (tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit()):
        raise ApiProblem(
            412, f"If-Match {if_match!r} is not an ETag of this deal", code="precondition_failed"
        )
    state = state_of(request)
    row = update_opportunity(uow_factory=state.app.uow_factory, principal=who.principal,
                             opportunity_id=_uuid(opportunity_id, "opportunity"),
                             changes=body.model_dump(exclude_unset=True),
                             expected_version=int(tag[2:-1]), now=state.now())  # fmt: skip
    return _tagged(row)


@router.get("/accounts", summary="Companies the caller sees a lead of")
def accounts_route(
    request: Request,
    who: CallerDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    page = list_accounts(uow_factory=state_of(request).app.uow_factory, principal=who.principal, search=search,
                         cursor=cursor, limit=limit)  # fmt: skip
    return {"items": page.items, "total": page.total, "limit": limit,
            "next_cursor": page.next_cursor}  # fmt: skip


@router.get("/accounts/{account_id}", summary="A company with its contacts")
def account_route(request: Request, who: CallerDep, account_id: str) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    return get_account(uow_factory=state_of(request).app.uow_factory, principal=who.principal,
                       account_id=_uuid(account_id, "account"))  # fmt: skip


@router.post("/accounts", status_code=201, summary="Create a company (admins, marketers)")
def add_account_route(request: Request, who: CallerDep, body: AccountBody) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    return add_account(uow_factory=state.app.uow_factory, principal=who.principal, name=body.name,
                       domain=body.domain, industry=body.industry, company_size=body.company_size,
                       region=body.region, now=state.now())  # fmt: skip


@router.post(
    "/accounts/{account_id}/contacts", status_code=201, summary="Add a person at a company"
)
def add_contact_route(
    request: Request, who: CallerDep, account_id: str, body: ContactBody
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    return add_contact(uow_factory=state.app.uow_factory, principal=who.principal,
                       account_id=_uuid(account_id, "account"), email=body.email, first_name=body.first_name,
                       last_name=body.last_name, title=body.title, phone=body.phone, now=state.now(),
                       default_region=state.app.settings.default_region)  # fmt: skip


@router.get("/campaigns", summary="Campaigns with their recorded cost")
def campaigns_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    require_role(who.principal, "admin", "manager", "marketer", action="reading campaigns")
    return _numbers({"items": list_campaigns(uow_factory=state_of(request).app.uow_factory)})


@router.post("/campaigns", status_code=201, summary="Create a campaign (admins, marketers)")
def add_campaign_route(request: Request, who: CallerDep, body: CampaignBody) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    return _numbers(add_campaign(uow_factory=state.app.uow_factory, principal=who.principal, name=body.name,
                    channel=body.channel, cost_per_day=body.cost_per_day, currency=body.currency,
                    starts_on=body.starts_on, ends_on=body.ends_on, now=state.now()))  # fmt: skip


@router.put("/campaigns/{campaign_id}/costs/{day}", summary="Record what a campaign cost on a day")
def cost_route(
    request: Request, who: CallerDep, campaign_id: str, day: date, body: CostBody
) -> dict[str, Any]:
    require_scope(who.principal, "leads:write")
    state = state_of(request)
    return _numbers(set_campaign_cost(uow_factory=state.app.uow_factory, principal=who.principal,
                                  campaign_id=_uuid(campaign_id, "campaign"), day=day, amount=body.amount,
                                  currency=body.currency, now=state.now()))  # fmt: skip
