"""Reps as routing sees them: read and change their routing settings (weight, seniority,
capacity, skills, product lines, calendar, time away).

Admins see and change every rep; a manager their team's reps (routing for their team); a rep
reads their own settings. A rep outside the caller's view is *not found*."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from leadfunnel.domain.access import require_scope
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.reps import change_rep_profile, list_reps

__all__ = ["router"]

router = APIRouter(tags=["reps"])


class RepSettingsBody(BaseModel):
    """Only the settings given change; the others keep their values."""

    model_config = ConfigDict(extra="forbid")
    weight: float | None = Field(default=None, gt=0, le=1000, description="Share in weighted distribution.")
    seniority: int | None = Field(default=None, ge=1, le=10)
    max_open: int | None = Field(default=None, ge=0, le=1_000_000, description="Open leads at most.")
    max_new_per_day: int | None = Field(default=None, ge=0, le=1_000_000)
    max_claims_per_day: int | None = Field(default=None, ge=0, le=1_000_000)
    skills: list[str] | None = Field(default=None, max_length=100)
    product_lines: list[str] | None = Field(default=None, max_length=100)
    calendar: str | None = Field(default=None, max_length=100, description="A business calendar's name.")
    away: list[tuple[datetime, datetime]] | None = Field(
        default=None, max_length=200, description="Times away, as [start, end] pairs with a time zone."
    )


def _user_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("rep", text) from None


@router.get("/reps", summary="Reps with their routing settings and open leads (as the caller may see)")
def reps_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    reps = list_reps(uow_factory=state_of(request).app.uow_factory, principal=who.principal)
    return {"items": [{**rep, "weight": None if rep["weight"] is None else float(rep["weight"])} for rep in reps]}


@router.patch("/reps/{user_id}", summary="Change a rep's routing settings (admins; managers: their team)")
def rep_settings_route(request: Request, who: CallerDep, user_id: str, body: RepSettingsBody) -> dict[str, Any]:
    require_scope(who.principal, "rules")
    state = state_of(request)
    changes = body.model_dump(exclude_unset=True)
    for name in ("weight", "seniority"):
        if name in changes and changes[name] is None:
            raise ValidationError(name, "cannot be empty (leave it out to keep it)")
    for name in ("skills", "product_lines", "away"):
        if changes.get(name) is not None:
            changes[name] = tuple(tuple(v) if isinstance(v, list) else v for v in changes[name])
    return change_rep_profile(uow_factory=state.app.uow_factory, principal=who.principal,
                              user_id=_user_id(user_id), changes=changes, now=state.now())  # fmt: skip
