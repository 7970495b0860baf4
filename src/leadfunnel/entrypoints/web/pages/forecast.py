"""The forecast page (``/forecast``): the period's range chart, the category roll-up against
the model, and the deal health list.

The period and breakdown are in the URL (``period``: ``2026-03`` or ``2026-Q1``, default the
current quarter; ``by``: team, rep, product or channel), so every view is a link. Every role
opens it: the forecast service covers, and learns from, only the deals the viewer's team or
the viewer owns (``analytics_owners``), so a rep sees their own forecast.

Deals are listed by name (and their lead's company), linked to their lead's page, or to
the pipeline for a deal without a lead.

The chart is Plotly: per group, the expected bookings as a bar with the P10-P90 range as its
error bar, beside what is already closed won; ``static/forecast.js`` draws the JSON figure.
The page runs fewer draws than the CLI (:data:`DRAWS`): enough for a range read at a glance.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from leadfunnel.domain.access import ROLES, Principal, lead_scope, require_role
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.answers import ANALYTICS_LOCK
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.i18n import language
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render, request_language
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.services.forecast import forecast_period

__all__ = ["BREAKDOWNS", "DRAWS", "HEALTH_ROWS", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DRAWS = 2_000
HEALTH_ROWS = 50
BREAKDOWNS = ("team", "rep", "product", "channel")


def _figure(rows: list[dict[str, Any]], label: Any, gettext: Any) -> dict[str, Any]:
    """Bars of expected bookings with their P10-P90 range, and closed won beside them."""
    groups = [gettext("All") if r["group"] == "all" else label(r["group"]) for r in rows]
    expected = [r["expected"] for r in rows]
    return {
        "data": [
            {"type": "bar", "name": gettext("Closed won"), "x": groups, "y": [r["closed_won"] for r in rows],
             "marker": {"color": "#7aa86b"}},
            {"type": "bar", "name": gettext("Expected"), "x": groups, "y": expected, "marker": {"color": "#2f6fde"},
             "error_y": {"type": "data", "symmetric": False,
                         "array": [r["bookings"]["p90"] - e for r, e in zip(rows, expected, strict=True)],
                         "arrayminus": [e - r["bookings"]["p10"] for r, e in zip(rows, expected, strict=True)]},
             "hovertemplate": "%{y:,.0f}<extra></extra>"},
        ],
        "layout": {"height": 340, "barmode": "group", "margin": {"l": 70, "r": 20, "t": 10, "b": 60},
                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, sans-serif"}, "legend": {"orientation": "h"}},
    }  # fmt: skip


def _labeller(names: dict[uuid.UUID, str]) -> Any:
    """Group values as people read them: a rep's or team's name where the viewer may know it."""

    def label(value: str) -> str:
        try:
            return names.get(uuid.UUID(value), value[:8])
        except ValueError:
            return value

    return label


def _team_names(state: Any) -> dict[uuid.UUID, str]:
    with state.app.uow_factory(write=False) as uow:
        return {row["id"]: row["name"] for row in uow.auth.teams()}


def _deal_names(state: Any, principal: Principal, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The listed deals as people know them, by id: name, the lead's company and where to open
    the deal (its lead's page, else the pipeline). A deal the store no longer holds (the
    analytics store lags behind) is left out, and listed by its id."""
    scope, found = lead_scope(principal), {}
    with state.app.uow_factory(write=False) as uow:
        for key in dict.fromkeys(ids):
            try:
                deal = uow.crm.opportunity(scope, uuid.UUID(key))
            except ValueError:
                deal = None
            if deal is None:
                continue
            lead = uow.leads.get(deal["lead_id"]) if deal["lead_id"] else None
            found[key] = {"name": deal["name"], "company": lead["company"] if lead else None,
                          "url": f"/leads/{deal['lead_id']}" if lead else "/pipeline"}  # fmt: skip
    return found


@router.get("/forecast")
def forecast_page(
    request: Request,
    who: ViewerDep,
    period: Annotated[str | None, Query(max_length=16)] = None,
    by: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    require_role(who.principal, *ROLES, action="the forecast")
    state = state_of(request)
    chosen_by = by or None
    with ANALYTICS_LOCK:
        result = forecast_period(engine=state.app.analytics, now=state.now(), period=period or None,
                                 by=chosen_by, draws=DRAWS, principal=who.principal).to_dict()  # fmt: skip
    names = people_names(uow_factory=state.app.uow_factory, principal=who.principal)
    label = _labeller({**names, **_team_names(state)})
    gettext = language(request_language(request)).gettext
    rows = result["rows"] + ([result["total"]] if chosen_by else [])
    flagged = [d for d in result["deals"] if d["disagreement"]][:HEALTH_ROWS]
    health = result["health"][:HEALTH_ROWS]
    deals = _deal_names(state, who.principal, [d["id"] for d in flagged + health])
    return render(request, "forecast.html", {
        "result": result, "rows": rows, "label": label, "by": chosen_by or "", "breakdowns": BREAKDOWNS,
        "figure": json.dumps(_figure(rows, label, gettext)).replace("</", "<\\/"),
        "flagged": flagged, "health": health, "deals": deals,
    }, viewer=who)  # fmt: skip
