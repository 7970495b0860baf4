"""The funnel explorer (``/explorer``) and its drill-down (``/explorer/leads``).

The person picks the steps, the mode (ordered, strict, any order), the conversion window,
a breakdown (channel, region, owner, ...; first or last touch), a cohort period, the
creation period and dimension filters (``where=channel:webinar``, repeatable, shown as
removable chips: ``web/where.py``); every choice is a URL parameter, so a view is a link.
The page draws one bar per step and breakdown value (or, with a cohort, the conversion
trend per cohort) and a table of reached / converted / dropped / still open per cell.

Every bar and every count is a link to the leads behind it (``/explorer/leads``, 50 a page,
with owner and last activity; ``services/analytics.py`` ``drill_leads``), so "who are the
212 webinar leads that stalled after MQL?" is one click. The lists carry the filters, so
they hold only the leads the filtered funnel counted. The "other" group of a top-N
breakdown has no link (it is not one value; narrow the breakdown or raise ``top``).

Who sees it: every role. The funnel service counts only the leads the viewer may see (a
rep's own, a manager's team's: ``domain/access.py``), so the same page is a rep's personal
funnel and a marketer's company funnel.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.analytics.funnel_oracle import OTHER_GROUP
from leadfunnel.analytics.funnel_spec import BREAKDOWNS
from leadfunnel.domain.access import Principal
from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import FUNNEL_PATH
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.answers import ANALYTICS_LOCK, answers, scope_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.i18n import language
from leadfunnel.entrypoints.web.people import people_names, team_names
from leadfunnel.entrypoints.web.rendering import render, request_language
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.entrypoints.web.where import Where, added_filter
from leadfunnel.services.analytics import drill_leads, run_funnel

__all__ = ["COHORTS", "DEFAULT_DAYS", "DIMENSIONS", "MODES", "OUTCOMES", "Question", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFAULT_DAYS = 365
PAGE_SIZE = 50
MODES = ("ordered", "strict", "any")
COHORTS = ("", "week", "month", "quarter")
OUTCOMES = ("reached", "converted", "dropped", "open")
#: Breakdown dimensions offered in the form (custom.NAME may be typed into the URL).
DIMENSIONS = tuple(BREAKDOWNS)
Text = Annotated[str | None, Query(max_length=200)]
_PALETTE = ("#2f6fde", "#e0862b", "#2a9d6f", "#c0392b", "#8e5bd1", "#7f8c8d", "#d4a017",
            "#16a5b8", "#b5487c", "#4d6b2f")  # fmt: skip


class Question:
    """The explorer's URL parameters, checked, and what the funnel service is asked."""

    def __init__(
        self,
        *,
        steps: str | None,
        mode: str | None,
        window: str | None,
        by: str | None,
        attribution: str | None,
        cohort: str | None,
        top: int | None,
        start: date | None,
        end: date | None,
        today: date,
        where: Where | None = None,
    ) -> None:
        self.steps = [s.strip() for s in (steps or "").split(",") if s.strip()] or [
            s.value for s in FUNNEL_PATH
        ]
        self.mode = mode or "ordered"
        self.window = (window or "").strip() or None
        self.by = (by or "").strip() or None
        self.attribution = attribution or "first_touch"
        self.cohort = cohort or None
        self.top = top or 6
        self.end = end or today
        self.start = start or self.end - timedelta(days=DEFAULT_DAYS - 1)
        if self.start > self.end:
            raise ValidationError("from", f"{self.start.isoformat()} is after to ({self.end.isoformat()})")  # fmt: skip
        if not 1 <= self.top <= 20:
            raise ValidationError("top", f"must be between 1 and 20, got {self.top}")
        self.where = where or Where()

    def funnel_options(self) -> dict[str, Any]:
        """Keyword arguments of ``run_funnel`` / ``drill_leads`` (they validate them)."""
        return {
            "steps": self.steps, "mode": self.mode, "window": self.window,
            "breakdown": self.by, "attribution": self.attribution if self.by else None,
            "cohort": self.cohort, "top_n": self.top if self.by else None,
            "created_from": self.start, "created_to": self.end, "where": self.where.service(),
        }  # fmt: skip

    def params(self) -> dict[str, str]:
        """The URL parameters that ask this question again."""
        out = {"steps": ",".join(self.steps), "mode": self.mode, "from": self.start.isoformat(),
               "to": self.end.isoformat()}  # fmt: skip
        if self.window:
            out["window"] = self.window
        if self.by:
            out.update(by=self.by, attribution=self.attribution, top=str(self.top))
        if self.cohort:
            out["cohort"] = self.cohort
        return out

    def query(self, extra: dict[str, str] | None = None, where: Where | None = None) -> str:
        """The URL query of this question (with ``extra`` parameters, and other filters)."""
        chosen = self.where if where is None else where
        if where is None and extra is not None:  # a drill link: one per cell of the table
            base, filters = self._encoded
            cell = "&".join(_encoded_pair(k, v) for k, v in extra.items())
            return "&".join(part for part in (base, cell, filters) if part)
        return urlencode([*self.params().items(), *(extra or {}).items(), *chosen.params()])

    @cached_property
    def _encoded(self) -> tuple[str, str]:
        """The question's own parameters and its filters, URL-encoded once per page."""
        return urlencode(self.params()), urlencode(self.where.params())

    def key(self) -> tuple[object, ...]:
        """The question, for remembered answers: the filters by meaning, not by order."""
        return (tuple(sorted(self.params().items())), self.where.key())

    def chips(self) -> list[dict[str, Any]]:
        """The filters as chips, each removed by a link to this question without it."""
        return self.where.chips(lambda w: "/explorer?" + self.query(where=w))

    def drill_url(self, row: dict[str, Any], outcome: str) -> str | None:
        """The drill-down link of a cell; None for the top-N remainder ("other"), which is
        not one value to filter on."""
        if self.by and row["group"] == OTHER_GROUP:
            return None
        cell = {"step": row["stage"], "outcome": outcome}
        if self.by and row["group"] is not None:
            cell["value"] = row["group"]
        if row["cohort"]:
            cell["cohort_of"] = row["cohort"]
        return "/explorer/leads?" + self.query(cell)


@lru_cache(maxsize=4096)
def _encoded_pair(key: str, value: str) -> str:
    """``key=value`` URL-encoded (a table's cells share their steps, groups and cohorts)."""
    return urlencode([(key, value)])


def _asked(
    request: Request,
    steps: Text = None,
    mode: Text = None,
    window: Text = None,
    by: Text = None,
    attribution: Text = None,
    cohort: Text = None,
    top: Annotated[int | None, Query()] = None,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    where: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Question:
    """The question in the URL (both pages take the same parameters)."""
    return Question(steps=steps, mode=mode, window=window, by=by, attribution=attribution,
                    cohort=cohort, top=top, start=period_from, end=period_to,
                    today=state_of(request).now().date(), where=Where.parse(where))  # fmt: skip


Asked = Annotated[Question, Depends(_asked)]


def _largest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups by their leads at the first step, largest first, the top-N remainder last;
    within a group, cohorts and steps keep the engine's order."""
    size: dict[str | None, int] = {}
    for r in rows:
        if r["step"] == 0:
            size[r["group"]] = size.get(r["group"], 0) + r["reached"]
    rank = {g: (g == OTHER_GROUP, -n, str(g)) for g, n in size.items()}
    return sorted(rows, key=lambda r: rank.get(r["group"], (True, 0, str(r["group"]))))


def _value_names(by: str | None, uow_factory: Any, principal: Principal) -> dict[str, str]:
    """Display names of a breakdown's values, by the value as the funnel gives it: people's
    names for ``owner_id``, team names for ``team_id``; other dimensions show their values."""
    if by == "owner_id":
        found = people_names(uow_factory=uow_factory, principal=principal)
    elif by == "team_id":
        found = team_names(uow_factory=uow_factory)
    else:
        return {}
    return {str(key): name for key, name in found.items()}


def _label(group: str | None, names: dict[str, str]) -> str:
    """A breakdown value as shown: its name if it has one (``OTHER`` and ``(none)`` as is)."""
    return "–" if group is None else names.get(group, group)


def _figure(question: Question, rows: list[dict[str, Any]], labels: dict[str | None, str],
            gettext: Any) -> dict[str, Any]:  # fmt: skip
    """Bars per step and breakdown value; with a cohort, conversion to the last step per cohort."""
    groups = list(dict.fromkeys(r["group"] for r in rows))
    traces = []
    for i, group in enumerate(groups):
        mine = [r for r in rows if r["group"] == group]
        color = _PALETTE[i % len(_PALETTE)]
        if question.cohort:
            last = [r for r in mine if r["step"] == len(question.steps) - 1]
            traces.append({
                "type": "scatter", "mode": "lines+markers", "name": labels[group],
                "x": [r["cohort"] for r in last], "y": [r["conversion_from_first"] for r in last],
                "customdata": [question.drill_url(r, "reached") for r in last],
                "line": {"color": color}, "hovertemplate": "%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            })  # fmt: skip
        else:
            traces.append({
                "type": "bar", "name": labels[group],
                "x": [gettext(f"stage:{r['stage']}") for r in mine], "y": [r["reached"] for r in mine],
                "customdata": [question.drill_url(r, "reached") for r in mine],
                "marker": {"color": color}, "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
            })  # fmt: skip
    axis = ({"tickformat": ".0%", "title": {"text": gettext("Conversion to the last step")}}
            if question.cohort else {"title": {"text": gettext("Leads reaching the step")}})  # fmt: skip
    return {
        "data": traces,
        "layout": {"height": 360, "barmode": "group", "yaxis": axis, "showlegend": bool(question.by),
                   "margin": {"l": 60, "r": 20, "t": 10, "b": 40}, "paper_bgcolor": "rgba(0,0,0,0)",
                   "plot_bgcolor": "rgba(0,0,0,0)", "font": {"family": "system-ui, sans-serif"}},
    }  # fmt: skip


@router.get("/explorer")
def explorer_page(
    request: Request,
    who: ViewerDep,
    question: Asked,
    where_dimension: Annotated[str | None, Query(max_length=100)] = None,
    where_value: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if where_dimension is not None or where_value is not None:  # the add-a-filter form
        added = added_filter(question.where, where_dimension, where_value)
        return RedirectResponse("/explorer?" + question.query(where=added), status_code=303)
    state = state_of(request)
    engine, now = state.app.analytics, state.now()

    def ask(moment: datetime) -> dict[str, Any]:
        return run_funnel(engine=engine, now=moment, principal=who.principal,
                          **question.funnel_options()).to_dict()  # fmt: skip

    asked = ("explorer", question.key(), scope_of(who.principal))
    answered = answers(request).ask(engine, asked, now, ask)
    result = answered.value
    rows = _largest_first(result["rows"])
    names = _value_names(question.by, state.app.uow_factory, who.principal)
    labels = {group: _label(group, names) for group in {r["group"] for r in rows}}
    if not question.by:
        labels[None] = language(request_language(request)).gettext("All leads")
    gettext = language(request_language(request)).gettext
    cells = [{**r, "label": labels[r["group"]],
              "links": {o: question.drill_url(r, o) for o in OUTCOMES}} for r in rows]  # fmt: skip
    return render(request, "explorer.html", {
        "q": question, "rows": cells, "modes": MODES, "cohorts": COHORTS,
        "dimensions": DIMENSIONS, "stages": [s.value for s in FUNNEL_PATH],
        "chips": question.chips(),
        "figure": json.dumps(_figure(question, rows, labels, gettext)).replace("</", "<\\/"),
        "answered": answered,
    }, viewer=who)  # fmt: skip


@router.get("/explorer/leads")
def explorer_leads_page(
    request: Request,
    who: ViewerDep,
    question: Asked,
    step: Annotated[str, Query(max_length=60)],
    outcome: Annotated[str, Query(max_length=20)] = "reached",
    value: Text = None,
    cohort_of: Annotated[date | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    if value is not None and not question.by:
        raise ValidationError("value", "a breakdown value needs a breakdown (by)")
    state = state_of(request)
    options = question.funnel_options()
    options.pop("breakdown")  # drill_leads sets it from by_value
    with ANALYTICS_LOCK:
        found = drill_leads(
            engine=state.app.analytics, uow_factory=state.app.uow_factory, now=state.now(),
            step=step, outcome=outcome, by_value=(question.by, value) if question.by and value is not None else None,
            cohort_value=cohort_of, limit=PAGE_SIZE, offset=offset, principal=who.principal, **options,
        )  # fmt: skip
    here = {"step": step, "outcome": outcome, **({"value": value} if value is not None else {}),
            **({"cohort_of": cohort_of.isoformat()} if cohort_of else {})}  # fmt: skip
    names = people_names(uow_factory=state.app.uow_factory, principal=who.principal)
    shown = _value_names(question.by, state.app.uow_factory, who.principal)
    return render(request, "explorer_leads.html", {
        "leads": found.items, "total": found.total, "offset": offset, "step": step,
        "outcome": outcome, "value": _label(value, shown) if value is not None else None,
        "cohort_of": cohort_of, "names": names, "filters": question.where.pairs,
        "dimensions": DIMENSIONS, "back_url": "/explorer?" + question.query(),
        "next_url": ("/explorer/leads?" + question.query({**here, "offset": str(offset + PAGE_SIZE)}))
        if offset + PAGE_SIZE < found.total else None,
        "previous_url": ("/explorer/leads?" + question.query({**here, "offset": str(max(0, offset - PAGE_SIZE))}))
        if offset else None,
    }, viewer=who)  # fmt: skip
