"""Operational reports over HTTP (the analytics store's reports are in ``analytics.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from leadfunnel.domain.access import require_role, require_scope
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.sla_report import SLA_GROUPS, sla_report

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/sla",
    summary="First-response SLA attainment and response times (managers: their team; reps: their own)",
)
def sla_route(
    request: Request,
    who: CallerDep,
    by: Annotated[str | None, Query(description=f"Group by: {', '.join(SLA_GROUPS)}.")] = None,
) -> dict[str, Any]:
    require_scope(who.principal, "leads:read")
    require_role(who.principal, "admin", "manager", "rep", action="reading SLA reports")
    rows = sla_report(uow_factory=state_of(request).app.uow_factory, by=by, principal=who.principal)
    return {"by": by, "rows": rows}
