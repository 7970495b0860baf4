"""Analytics over HTTP: funnels (lifecycle and event), drill-down lists, time to convert and
KPIs, from the analytics store. A manager's or rep's answers cover only the leads their team
or they own (the services apply ``analytics_owners``); stage-wide reports that are not
per-lead (time in stage, stagnation) are for admins and marketers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from leadfunnel.domain.access import require_role, require_scope
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.security import ApiState, CallerDep, state_of
from leadfunnel.services.analytics import (
    drill_leads,
    run_funnel,
    stagnant_leads,
    time_in_stage,
    time_to_convert,
    time_to_convert_by,
)
from leadfunnel.services.kpis import run_kpis

__all__ = ["QUERY_NAMES", "as_query_error", "router"]

router = APIRouter(prefix="/analytics", tags=["analytics"])

Csv = Annotated[str | None, Query(max_length=500, description="Comma-separated.")]
Text = Annotated[str | None, Query(max_length=100)]
Where = Annotated[
    list[str] | None,
    Query(
        max_length=20,
        description="DIMENSION=VALUE (a dimension or custom.NAME), repeatable: values of one "
        "dimension are alternatives, dimensions must all match",
    ),
]


def _json(value: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = jsonable_encoder(value)
    return encoded


def _list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _funnel_options(
    steps: str | None, events: str | None, exclude: str | None, mode: str | None, window: str | None,
    by: str | None, attribution: str | None, cohort: str | None, cohort_by: str | None, top: int | None,
    date_from: date | None, date_to: date | None,
) -> dict[str, Any]:  # fmt: skip
    return {"steps": _list(steps), "events": _list(events), "exclude": _list(exclude), "mode": mode,
            "window": window, "breakdown": by, "attribution": attribution, "cohort": cohort,
            "cohort_by": cohort_by, "top_n": top, "created_from": date_from, "created_to": date_to}  # fmt: skip


#: The questions' own names for what the query calls otherwise: errors name the parameter
#: the caller sent.
QUERY_NAMES = {"created_from": "from", "created_to": "to", "period_from": "from",
               "period_to": "to", "breakdown": "by", "top_n": "top"}  # fmt: skip


async def _answer(state: ApiState, call: Any, **kwargs: Any) -> Any:
    """Run an analytics question off the event loop (it may sync the store first)."""
    try:
        return await run_in_threadpool(
            lambda: call(engine=state.app.analytics, now=state.now(), **kwargs)
        )
    except ValidationError as exc:
        raise as_query_error(exc) from None


def as_query_error(exc: ValidationError) -> ValidationError:
    """``exc`` naming the query parameter the caller sent (``from``, not ``period_from``)."""
    name = QUERY_NAMES.get(exc.field)
    return exc if name is None else ValidationError(name, exc.reason)


@router.get(
    "/funnel", summary="A lifecycle or event funnel: reached, converted, open, dropped per step"
)
async def funnel_route(
    request: Request,
    who: CallerDep,
    steps: Csv = None,
    events: Csv = None,
    exclude: Csv = None,
    mode: Text = None,
    window: Text = None,
    by: Text = None,
    attribution: Text = None,
    cohort: Text = None,
    cohort_by: Text = None,
    top: Annotated[int | None, Query(ge=1, le=1000)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    where: Where = None,
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    options = _funnel_options(steps, events, exclude, mode, window, by, attribution, cohort, cohort_by, top,
                              date_from, date_to)  # fmt: skip
    state = state_of(request)
    result = await _answer(state, run_funnel, principal=who.principal, where=where, **options)
    return _json(result.to_dict())


@router.get(
    "/funnel/drill",
    summary="The leads in one funnel cell (step x outcome x breakdown value x cohort)",
)
async def drill_route(
    request: Request,
    who: CallerDep,
    step: Annotated[str, Query(max_length=100)],
    outcome: Annotated[
        str, Query(max_length=16, description="reached, converted, open or dropped")
    ] = "reached",
    by_value: Annotated[str | None, Query(max_length=300, description="DIMENSION=VALUE")] = None,
    cohort_value: date | None = None,
    steps: Csv = None,
    events: Csv = None,
    exclude: Csv = None,
    mode: Text = None,
    window: Text = None,
    attribution: Text = None,
    cohort: Text = None,
    cohort_by: Text = None,
    where: Where = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    require_scope(who.principal, "leads:read")
    pair = None
    if by_value is not None:
        name, sep, value = by_value.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                "by_value", f"'{by_value}' is not DIMENSION=VALUE, e.g. channel=webinar"
            )
        pair = (name.strip(), value.strip())
    options = _funnel_options(steps, events, exclude, mode, window, None, attribution, cohort, cohort_by, None,
                              None, None)  # fmt: skip
    options.pop("breakdown")
    options.pop("top_n")
    state = state_of(request)
    page = await _answer(state, drill_leads, uow_factory=state.app.uow_factory, principal=who.principal,
                         step=step, outcome=outcome, by_value=pair, cohort_value=cohort_value, limit=limit,
                         offset=offset, where=where, **options)  # fmt: skip
    return _json(
        {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
    )


@router.get(
    "/time-to-convert", summary="Time from each funnel step to the next (mean, median, p90)"
)
async def convert_route(
    request: Request, who: CallerDep, steps: Csv = None, window: Text = None, mode: Text = None,
    events: Csv = None, exclude: Csv = None, by: Text = None, attribution: Text = None,
    where: Where = None,
) -> dict[str, Any]:  # fmt: skip
    require_scope(who.principal, "analytics")
    question = {"steps": _list(steps), "window": window, "mode": mode, "events": _list(events),
                "exclude": _list(exclude), "attribution": attribution, "where": where,
                "principal": who.principal}  # fmt: skip
    if by is not None:
        spec, groups = await _answer(state_of(request), time_to_convert_by, breakdown=by,
                                     **question)  # fmt: skip
        pairs = list(zip(spec.steps, spec.steps[1:], strict=False))
        return _json({"items": [{"group": group, "from": a, "to": b, **s.to_dict()}
                                for group, stats in groups.items()
                                for (a, b), s in zip(pairs, stats, strict=True)]})  # fmt: skip
    spec, stats = await _answer(state_of(request), time_to_convert, **question)
    pairs = list(zip(spec.steps, spec.steps[1:], strict=False))
    return _json({"items": [{"from": a, "to": b, **s.to_dict()} for (a, b), s in zip(pairs, stats,
                                                                                                 strict=True)]})  # fmt: skip


@router.get(
    "/time-in-stage", summary="Finished stays per stage and leads in each now (admins, marketers)"
)
async def stage_times_route(request: Request, who: CallerDep) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    require_role(who.principal, "admin", "marketer", action="company-wide stage times")
    stats = await _answer(state_of(request), time_in_stage)
    return _json({stage: s.to_dict() for stage, s in stats.items()})


@router.get(
    "/stagnant",
    summary="Open leads stuck in their stage longer than a threshold (admins, marketers)",
)
async def stagnant_route(
    request: Request, who: CallerDep, threshold: Annotated[str, Query(max_length=200)] = "30d"
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    require_role(who.principal, "admin", "marketer", action="company-wide stagnation")
    rows = await _answer(state_of(request), stagnant_leads, threshold=threshold)
    return _json({"items": [r.to_dict() for r in rows]})


@router.get("/kpis", summary="Lead-to-cash KPIs, overall or per value of a dimension")
async def kpis_route(
    request: Request,
    who: CallerDep,
    by: Text = None,
    attribution: Text = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    where: Annotated[
        list[str] | None, Query(max_length=20, description="DIMENSION=VALUE, repeatable")
    ] = None,
) -> dict[str, Any]:
    require_scope(who.principal, "analytics")
    result = await _answer(state_of(request), run_kpis, by=by, attribution=attribution, period_from=date_from,
                           period_to=date_to, where=where, principal=who.principal)  # fmt: skip
    return _json(result.to_dict())
