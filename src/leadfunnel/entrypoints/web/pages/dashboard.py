"""The dashboard (``/dashboard``): KPI tiles with the change against the previous period,
the lifecycle funnel chart with conversion and drop-off per step, the conversion trend by
cohort month, and the channel table.

The period is in the URL (``from``, ``to``: the leads created on those days and the spend
on them; default the last 90 days), and so are the channel table's sort column and the
dimension filters (``where=channel:webinar``, repeatable: ``web/where.py``, the explorer's
form), so every view is a link. Every KPI tile, the funnel, the trend and the channel table
count only the leads matching the filters (the KPI and funnel services' ``where``); the SLA
and open-pipeline tiles are not per lead, so under a filter they are left empty rather
than shown unfiltered. The funnel table's counts link to the explorer's list of their
leads, filters included. The previous period is the one of the same length just before.
The trend covers the twelve creation months up to the period's end.

Who sees it: every role, each their own figures. The services count only the leads the
viewer's reports cover (``domain/access.py``: every lead for admins and marketers, the
team's for a manager, a rep's own); spend is not theirs alone, so a manager's or rep's
cost tiles and cost columns stay empty. The open-pipeline tile is the pipeline now (it
has no previous period); SLA attainment counts the first-response clocks started in the
period.

Answers are remembered until the data changes (``web/answers.py``), so a dashboard opened
again, by anyone with the same view, costs no analytics query.

The charts are Plotly (``/static/plotly.min.js``, from the installed ``plotly`` package);
the page carries each figure as JSON and ``static/dashboard.js`` draws them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.domain.access import COMPANY_WIDE_ROLES, Principal
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.answers import answers, scope_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.i18n import language
from leadfunnel.entrypoints.web.pages.explorer import DIMENSIONS, Question
from leadfunnel.entrypoints.web.rendering import render, request_language
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.entrypoints.web.where import Where, WhereDep, added_filter
from leadfunnel.services.analytics import run_funnel
from leadfunnel.services.kpis import run_kpis
from leadfunnel.services.pipeline_value import pipeline_value
from leadfunnel.services.sla_report import sla_report

__all__ = [
    "CHANNEL_COLUMNS", "DEFAULT_DAYS", "TILES", "Tile", "change", "router",
    "warm_dashboards",
]  # fmt: skip

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    #: count, ratio, minutes or money: how the value and its change are shown.
    kind: str
    lower_is_better: bool = False


TILES = (
    Tile("leads", "Leads", "count"),
    Tile("mql", "MQL", "count"),
    Tile("sql", "SQL", "count"),
    Tile("win_rate", "Win rate", "ratio"),
    Tile("mttr_median_minutes", "Median first response (min)", "minutes", lower_is_better=True),
    Tile("share_responded_5m", "Answered within 5 min", "ratio"),
    Tile("sla_attainment", "SLA attainment", "ratio"),
    Tile("cpl", "Cost per lead", "money", lower_is_better=True),
    Tile("cac", "Customer acquisition cost", "money", lower_is_better=True),
    Tile("won_revenue", "Won revenue", "money"),
    Tile("open_pipeline", "Open pipeline", "money"),
)
#: Months of cohorts in the conversion trend.
TREND_MONTHS = 12
#: Channel table columns (all sortable), in order.
CHANNEL_COLUMNS = ("leads", "lead_to_won", "cost", "cpl", "cac", "roi")
#: Tiles that are not per lead: no dimension filter applies to them.
UNFILTERED_TILES = ("sla_attainment", "open_pipeline")


def change(current: float | None, previous: float | None, kind: str) -> float | None:
    """The change against the previous period: relative for amounts, in points for ratios.

    >>> change(120, 100, "count")
    0.2
    >>> round(change(0.25, 0.2, "ratio"), 4)
    0.05
    >>> change(5, 0, "count") is None
    True
    """
    if current is None or previous is None:
        return None
    if kind == "ratio":
        return current - previous
    return (current - previous) / previous if previous else None


def _period(start: date | None, end: date | None, today: date) -> tuple[date, date, date, date]:
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationError("from", f"{start.isoformat()} is after to ({end.isoformat()})")
    days = (end - start).days + 1
    previous_end = start - timedelta(days=1)
    return start, end, previous_end - timedelta(days=days - 1), previous_end


def _tiles(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tile in TILES:
        delta = change(current.get(tile.key), previous.get(tile.key), tile.kind)
        trend = "flat" if not delta else ("up" if delta > 0 else "down")
        good = None if trend == "flat" else (trend == "up") != tile.lower_is_better
        out.append({"tile": tile, "value": current.get(tile.key), "delta": delta, "trend": trend,
                    "good": good})  # fmt: skip
    return out


def _figure(steps: list[dict[str, Any]], gettext: Any) -> dict[str, Any]:
    """A Plotly funnel: leads reaching each step, with the share of the first step."""
    return {
        "data": [{
            "type": "funnel", "y": [gettext(f"stage:{s['stage']}") for s in steps],
            "x": [s["reached"] for s in steps],
            "texttemplate": "%{value:,}<br>%{percentInitial:.1%}",
            "marker": {"color": "#2f6fde"}, "hoverinfo": "x+percent previous+percent initial",
        }],
        "layout": {"height": 340, "margin": {"l": 110, "r": 20, "t": 10, "b": 30},
                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, sans-serif"}},
    }  # fmt: skip


def _sorted_channels(groups: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    known = [g for g in groups if g.get(sort) is not None]
    return sorted(known, key=lambda g: -g[sort]) + [g for g in groups if g.get(sort) is None]


def _attainment(state: Any, who: Any, start: date, end: date) -> float | None:
    rows = sla_report(uow_factory=state.app.uow_factory, principal=who.principal,
                      started_from=start, started_to=end)  # fmt: skip
    return rows[0]["within_sla"] if rows else None


def _url(start: date, end: date, sort: str, where: Where) -> str:
    """The dashboard's URL for this view (period, sort column, filters)."""
    query = [("from", start.isoformat()), ("to", end.isoformat()), ("sort", sort)]
    return "/dashboard?" + urlencode(query + where.params())


def _drill_links(
    start: date, end: date, today: date, where: Where, rows: list[dict[str, Any]]
) -> list[dict[str, str | None]]:
    """Per funnel row, the explorer's lists of its leads (reached, open, dropped)."""
    question = Question(steps=None, mode=None, window=None, by=None, attribution=None, cohort=None,
                        top=None, start=start, end=end, today=today, where=where)  # fmt: skip
    return [{o: question.drill_url(r, o) for o in ("reached", "open", "dropped")} for r in rows]


def _trend_start(end: date) -> date:
    """The first day of the month TREND_MONTHS - 1 months before ``end``'s month."""
    months = end.year * 12 + end.month - 1 - (TREND_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def _trend_figure(rows: list[dict[str, Any]], gettext: Any) -> dict[str, Any]:
    """Per creation month: the share of its leads that reached MQL, SQL and won so far."""
    lines = []
    for step, color in ((1, "#2f6fde"), (2, "#e0862b"), (4, "#2a9d6f")):
        mine = [r for r in rows if r["step"] == step]
        lines.append({
            "type": "scatter", "mode": "lines+markers", "name": gettext(f"stage:{mine[0]['stage']}") if mine else "",
            "x": [r["cohort"] for r in mine], "y": [r["conversion_from_first"] for r in mine],
            "line": {"color": color}, "hovertemplate": "%{x|%Y-%m}: %{y:.1%}<extra>%{fullData.name}</extra>",
        })  # fmt: skip
    return {
        "data": lines,
        "layout": {"height": 300, "margin": {"l": 50, "r": 20, "t": 10, "b": 40},
                   "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}, "xaxis": {"tickformat": "%Y-%m"},
                   "legend": {"orientation": "h"}, "paper_bgcolor": "rgba(0,0,0,0)",
                   "plot_bgcolor": "rgba(0,0,0,0)", "font": {"family": "system-ui, sans-serif"}},
    }  # fmt: skip


def _question(
    engine: Any, principal: Principal, today: date, period_from: date | None,
    period_to: date | None, where: Where,
) -> tuple[Hashable, Callable[[datetime], dict[str, Any]]]:  # fmt: skip
    """The dashboard's analytics question (its key among remembered answers) and how to
    answer it at a moment: KPIs by channel (their total: the period's tiles) and before,
    the funnel and the trend."""
    start, end, previous_start, previous_end = _period(period_from, period_to, today)
    filters = where.service()

    def ask(moment: datetime) -> dict[str, Any]:
        def kpis(**period: Any) -> dict[str, Any]:
            return run_kpis(engine=engine, now=moment, principal=principal, where=filters,
                            **period).to_dict()  # fmt: skip

        def funnel(**options: Any) -> dict[str, Any]:
            return run_funnel(engine=engine, now=moment, principal=principal, where=filters,
                              **options).to_dict()  # fmt: skip

        # Four questions at once: each spends part of its time in Python and part in the
        # store's engine, which does not hold the GIL, so they overlap. The period's tiles
        # are the channel table's total (the same figures as a question without the
        # breakdown, which would read the same leads a second time).
        # Each runs in a copy of this context (which may say: read the store unsynced).
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="dashboard") as pool:

            def submit(question: Callable[..., dict[str, Any]], **options: Any) -> Future[dict[str, Any]]:
                return pool.submit(copy_context().run, partial(question, **options))

            trend_start = _trend_start(end)
            asked = {
                "previous": submit(kpis, period_from=previous_start, period_to=previous_end),
                "channels": submit(kpis, by="channel", period_from=start, period_to=end),
                "funnel": submit(funnel, created_from=start, created_to=end),
                "trend": submit(funnel, cohort="month", created_from=trend_start, created_to=end),
            }
            return {name: future.result() for name, future in asked.items()}

    return ("dashboard", start, end, where.key(), scope_of(principal)), ask


def warm_dashboards(api: Any) -> None:
    """Start computing, in the background, what the first views after the server starts
    need (``leadfunnel serve``), so that on a large store they do not wait for it: the
    dashboard and the funnel explorer the company-wide roles open first (the default period,
    no filter), and the compiled plans of every manager's and rep's dashboard."""
    app = api.state.api.app
    engine, answers, now = app.analytics, api.state.answers, app.clock()
    # Every company-wide role sees the same figures (one remembered answer): warm it once.
    company = Principal(user_id=None, role=COMPANY_WIDE_ROLES[0], name="dashboard warm-up")
    question, ask = _question(engine, company, now.date(), None, None, Where())
    answers.warm(engine, question, now, ask)
    explored = Question(steps=None, mode=None, window=None, by=None, attribution=None,
                        cohort=None, top=None, start=None, end=None, today=now.date())  # fmt: skip

    def explore(moment: datetime) -> dict[str, Any]:
        return run_funnel(engine=engine, now=moment, principal=company,
                          **explored.funnel_options()).to_dict()  # fmt: skip

    answers.warm(engine, ("explorer", explored.key(), scope_of(company)), now, explore)
    # Managers' and reps' questions are limited to their owners, which their plans take as
    # a parameter (adapters/warehouse/plans.py): one scope compiles them for all. A scope
    # owning no lead compiles them without computing anything to speak of.
    nobody = Principal(user_id=None, role="rep", name="dashboard warm-up")
    question, ask = _question(engine, nobody, now.date(), None, None, Where())
    answers.warm(engine, question, now, ask)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    who: ViewerDep,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    sort: Annotated[str, Query(max_length=20)] = "leads",
    where: WhereDep = Where(),
    where_dimension: Annotated[str | None, Query(max_length=100)] = None,
    where_value: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if sort not in CHANNEL_COLUMNS:
        raise ValidationError("sort", f"'{sort}' is not one of: {', '.join(CHANNEL_COLUMNS)}")
    state = state_of(request)
    now = state.now()
    start, end, previous_start, previous_end = _period(period_from, period_to, now.date())
    if where_dimension is not None or where_value is not None:  # the add-a-filter form
        added = added_filter(where, where_dimension, where_value) or where
        return RedirectResponse(_url(start, end, sort, added), status_code=303)
    engine, principal = state.app.analytics, who.principal
    question, ask = _question(engine, principal, now.date(), period_from, period_to, where)
    asked = answers(request).ask(engine, question, now, ask)
    answer = asked.value
    previous, channels = answer["previous"], answer["channels"]
    funnel, trend = answer["funnel"], answer["trend"]
    first = dict(channels["total"] or {})
    before = dict(previous["groups"][0]) if previous["groups"] else {}
    pipeline = []
    if not where:  # neither is per lead: under a filter they stay empty
        first["sla_attainment"] = _attainment(state, who, start, end)
        before["sla_attainment"] = _attainment(state, who, previous_start, previous_end)
        pipeline = pipeline_value(uow_factory=state.app.uow_factory, principal=principal)
        first["open_pipeline"] = float(pipeline[0].amount) if pipeline else None
    gettext = language(request_language(request)).gettext
    return render(request, "dashboard.html", {
        "start": start, "end": end, "previous_start": previous_start, "previous_end": previous_end,
        "tiles": _tiles(first, before), "steps": funnel["rows"], "pipeline": pipeline,
        "links": _drill_links(start, end, now.date(), where, funnel["rows"]),
        "unfiltered": UNFILTERED_TILES if where else (), "dimensions": DIMENSIONS,
        "chips": where.chips(lambda w: _url(start, end, sort, w)), "where": where,
        "sort_urls": {c: _url(start, end, c, where) for c in CHANNEL_COLUMNS},
        # Inside a <script> element: "</" must not end it early.
        "figure": json.dumps(_figure(funnel["rows"], gettext)).replace("</", "<\\/"),
        "trend": json.dumps(_trend_figure(trend["rows"], gettext)).replace("</", "<\\/"),
        "trend_start": _trend_start(end),
        "channels": _sorted_channels(channels["groups"], sort), "sort": sort,
        "channel_columns": CHANNEL_COLUMNS, "cost_attributable": channels["cost_attributable"],
        "answered": asked,
    }, viewer=who)  # fmt: skip
