"""Attribution over HTTP: credit and channel economics per channel or campaign under a model,
with models side by side (``services/attribution.py``). A manager's or rep's answer covers
only the leads their team or they own, without cost (spend is not theirs alone)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from leadfunnel.domain.access import require_scope
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.routes.analytics import as_query_error
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.attribution import run_attribution

__all__ = ["router"]

router = APIRouter(prefix="/analytics", tags=["analytics"])

Csv = Annotated[str | None, Query(max_length=500, description="Comma-separated.")]
Text = Annotated[str | None, Query(max_length=100)]


def _list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@router.get(
    "/attribution",
    summary="Multi-touch attribution: credit, cost, CPL, CAC, ROI and ROAS per channel or campaign",
)
async def attribution_route(
    request: Request,
    who: CallerDep,
    model: Text = None,
    conversion: Text = None,
    by: Text = None,
    compare: Csv = None,
    level: Text = None,
    lookback: Text = None,
    kinds: Csv = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    half_life: Text = None,
    order: Annotated[int | None, Query(ge=1, le=4)] = None,
    weights: Text = None,
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    state = state_of(request)
    try:
        result = await run_in_threadpool(
            lambda: run_attribution(
                engine=state.app.analytics,
                now=state.now(),
                model=model,
                conversion=conversion,
                by=by,
                compare=_list(compare),
                level=level,
                lookback=lookback,
                kinds=_list(kinds),
                period_from=date_from,
                period_to=date_to,
                half_life=half_life,
                order=order,
                weights=weights,
                principal=who.principal,
            )
        )
    except ValidationError as exc:
        raise as_query_error(exc) from None
    encoded: dict[str, Any] = jsonable_encoder(result.to_dict())
    return encoded
