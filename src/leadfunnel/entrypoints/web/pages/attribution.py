"""The attribution page (``/attribution``): which channels or campaigns earned the
conversions under a model, side by side with other models in a Plotly chart, and what
each cost (CPL, cost per MQL and SQL, CAC, ROI, ROAS).

The question is in the URL (``model``, ``conversion``, ``by``, ``from``, ``to``), so every
view is a link; a value the page does not offer is refused (422) naming it, as on the
other pages, rather than quietly answered with the default. The chart compares :data:`COMPARED` (and the chosen model) on the same
journeys; docs/concepts/attribution.md explains each model.

Who sees it: admins and marketers, as the dashboard
(:data:`~leadfunnel.entrypoints.web.navigation.DASHBOARD_ROLES`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from leadfunnel.domain.access import require_role
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.answers import ANALYTICS_LOCK
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.i18n import language
from leadfunnel.entrypoints.web.navigation import DASHBOARD_ROLES
from leadfunnel.entrypoints.web.rendering import render, request_language
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.services.attribution import run_attribution

__all__ = ["COMPARED", "CONVERSIONS", "MODELS", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: The models the page offers (custom weights are for the CLI and API).
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "w_shaped",
          "full_path", "j_shaped", "inverse_j", "time_decay", "markov", "shapley")  # fmt: skip
#: The models every chart compares the chosen one with.
COMPARED = ("first_touch", "last_touch", "linear", "w_shaped", "time_decay", "markov", "shapley")
CONVERSIONS = ("mql", "sql", "opportunity", "won")
_COLOURS = ("#2f6fde", "#e8833a", "#3aa76d", "#c94c4c", "#8a63d2", "#8c6d31", "#d9679f", "#5a6b7b")


def _figure(comparison: dict[str, dict[str, Any]], key: str, gettext: Any) -> dict[str, Any]:
    """Grouped bars: one per model, per group (most credited under the first model first)."""
    first = next(iter(comparison.values()), {})
    groups = sorted({g for credits in comparison.values() for g in credits},
                    key=lambda g: (-first.get(g, {}).get(key, 0.0), g))  # fmt: skip
    return {
        "data": [
            {"type": "bar", "name": gettext(f"model:{model}"), "x": groups,
             "y": [round(credits.get(g, {}).get(key, 0.0), 2) for g in groups],
             "marker": {"color": _COLOURS[i % len(_COLOURS)]}}
            for i, (model, credits) in enumerate(comparison.items())
        ],
        "layout": {"barmode": "group", "height": 380, "margin": {"l": 60, "r": 20, "t": 10, "b": 110},
                   "legend": {"orientation": "h", "y": 1.12}, "paper_bgcolor": "rgba(0,0,0,0)",
                   "plot_bgcolor": "rgba(0,0,0,0)", "font": {"family": "system-ui, sans-serif"}},
    }  # fmt: skip


def _day(value: str | None, field: str) -> date | None:
    """A date input's value; the form sends an empty one for "no bound"."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a date (YYYY-MM-DD)") from None


def _choice(value: str, choices: tuple[str, ...], field: str) -> str:
    """``value`` if the page offers it; anything else is refused, as the other pages do."""
    if value not in choices:
        raise ValidationError(field, f"'{value}' is not one of: {', '.join(choices)}")
    return value


@router.get("/attribution")
def attribution_page(
    request: Request,
    who: ViewerDep,
    model: Annotated[str, Query(max_length=30)] = "w_shaped",
    conversion: Annotated[str, Query(max_length=20)] = "won",
    by: Annotated[str, Query(max_length=20)] = "channel",
    period_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    period_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    require_role(who.principal, *DASHBOARD_ROLES, action="attribution")
    model = _choice(model, MODELS, "model")
    conversion = _choice(conversion, CONVERSIONS, "conversion")
    by = _choice(by, ("channel", "campaign"), "by")
    start, end = _day(period_from, "from"), _day(period_to, "to")
    state = state_of(request)
    with ANALYTICS_LOCK:
        result = run_attribution(
            engine=state.app.analytics, now=state.now(), model=model, conversion=conversion, by=by,
            compare=COMPARED, period_from=start, period_to=end, principal=who.principal,
        ).to_dict()  # fmt: skip
    gettext = language(request_language(request)).gettext
    key = "revenue" if conversion == "won" else "conversions"
    figure = _figure(result["comparison"], key, gettext)
    return render(request, "attribution.html", {
        "result": result, "models": MODELS, "conversions": CONVERSIONS, "model": model,
        "conversion": conversion, "by": by, "start": start, "end": end,
        # Inside a <script> element: "</" must not end it early.
        "figure": json.dumps(figure).replace("</", "<\\/"), "won": conversion == "won",
    }, viewer=who)  # fmt: skip
