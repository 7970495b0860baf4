"""The forecast over HTTP: a period's expected bookings with their range, categories and deal
health, and the backtest of past forecasts. A manager's or rep's forecast covers, and learns
from, only the deals their team or they own (the service applies ``analytics_owners``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from leadfunnel.domain.access import require_scope
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.services.forecast import backtest_forecast, forecast_period

__all__ = ["router"]

router = APIRouter(prefix="/forecast", tags=["forecast"])

By = Annotated[
    str | None, Query(max_length=16, description="team, rep, product or channel (default: none).")
]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1, description="Random seed of the simulation.")]
Subject = Annotated[
    str,
    Query(max_length=8, description="deals (default) or leads (won leads, from the lifecycle)."),
]
Probabilities = Annotated[
    str, Query(max_length=16, description="learned (default) or fixed (the per-stage table).")
]


@router.get(
    "", summary="A month's or quarter's expected bookings, P10/P50/P90, categories, deal health"
)
async def forecast_route(
    request: Request,
    who: CallerDep,
    period: Annotated[
        str | None, Query(max_length=16, description="2026-03 or 2026-Q1 (default: this quarter).")
    ] = None,
    by: By = None,
    as_of: Annotated[
        date | None, Query(description="Forecast as of the start of this day (UTC).")
    ] = None,
    draws: Annotated[int, Query(ge=100, le=20_000)] = 10_000,
    seed: Seed = 0,
    probabilities: Probabilities = "learned",
    subject: Subject = "deals",
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    state = state_of(request)
    result = await run_in_threadpool(
        lambda: forecast_period(engine=state.app.analytics, now=state.now(), period=period, by=by, as_of=as_of,
                                draws=draws, seed=seed, probabilities=probabilities, subject=subject,
                                principal=who.principal)
    )  # fmt: skip
    encoded: dict[str, Any] = jsonable_encoder(result.to_dict())
    return encoded


@router.get(
    "/backtest", summary="Past forecasts re-run as of their period's start: MAPE, bias, coverage"
)
async def backtest_route(
    request: Request,
    who: CallerDep,
    periods: Annotated[int, Query(ge=1, le=24)] = 12,
    unit: Annotated[str, Query(max_length=8, description="month or quarter.")] = "month",
    last: Annotated[
        str | None,
        Query(
            max_length=16, description="The last period to score (default: the last complete one)."
        ),
    ] = None,
    by: By = None,
    draws: Annotated[int, Query(ge=100, le=5_000)] = 1_000,
    seed: Seed = 0,
    probabilities: Probabilities = "learned",
    subject: Subject = "deals",
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    state = state_of(request)
    result = await run_in_threadpool(
        lambda: backtest_forecast(engine=state.app.analytics, now=state.now(), periods=periods, unit=unit, by=by,
                                  last=last, draws=draws, seed=seed, probabilities=probabilities,
                                  subject=subject, principal=who.principal)
    )  # fmt: skip
    encoded: dict[str, Any] = jsonable_encoder(result.to_dict())
    return encoded
