"""``leadfunnel kpi``: the lead-to-cash KPI set, overall or per value of a dimension."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.kpis import KPI_DIMENSIONS, run_kpis

__all__ = ["kpi_command"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a date (YYYY-MM-DD)") from None


def _table(title: str, by: str | None, heads: list[str], rows: list[list[str]]) -> None:
    table = Table(
        by or "", *heads, title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column in table.columns[1:]:
        column.justify = "left" if column.header == "reason" else "right"
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _count(group: dict[str, Any], *names: str) -> list[str]:
    return [f"{group[n]:,}" for n in names]


def _render(data: dict[str, Any]) -> None:
    """One narrow table per family of KPIs, so each fits a terminal; with a breakdown, its
    total is each table's last line."""
    total = [{**data["total"], "group": "total"}] if data["total"] else []
    groups, by = [*data["groups"], *total], data["by"]
    span = (
        f"{data['from'] or '…'} to {data['to'] or '…'}"
        if data["from"] or data["to"]
        else "all time"
    )
    _table(f"Leads created ({span}) and the stages they reached", by,
           ["leads", "mql", "sql", "opportunity", "won", "lost"],
           [[g["group"], *_count(g, "leads", "mql", "sql", "opportunity", "won", "lost")] for g in groups])  # fmt: skip
    _table("Conversion", by, ["lead→mql", "mql→sql", "lead→opportunity", "lead→won"],
           [[g["group"], *(_pct(g[k]) for k in ("lead_to_mql", "mql_to_sql", "lead_to_opportunity", "lead_to_won"))]
            for g in groups])  # fmt: skip
    _table("First response (minutes)", by, ["responded", "mean", "median", "due", "within 5 min"],
           [[g["group"], *_count(g, "responded"), _num(g["mttr_mean_minutes"], 1), _num(g["mttr_median_minutes"], 1),
             *_count(g, "response_due"), _pct(g["share_responded_5m"])] for g in groups])  # fmt: skip
    _table("Deals (sales cycle in days, velocity: revenue per day)", by,
           ["open", "won", "lost", "win rate", "avg deal", "cycle", "velocity"],
           [[g["group"], *_count(g, "open_deals", "won_deals", "lost_deals"), _pct(g["win_rate"]),
             _num(g["avg_deal_size"]), _num(g["sales_cycle_days"], 1), _num(g["sales_velocity"])] for g in groups])  # fmt: skip
    _table("Revenue", by, ["won revenue", "customers", "new customers", "LTV"],
           [[g["group"], _num(g["won_revenue"]), *_count(g, "customers", "new_customers"), _num(g["ltv"])]
            for g in groups])  # fmt: skip
    if data["cost_attributable"]:
        _table("Cost", by, ["cost", "CPL", "CAC", "ROI", "ROAS", "LTV/CAC"],
               [[g["group"], _num(g["cost"]), _num(g["cpl"], 2), _num(g["cac"]), _num(g["roi"], 2),
                 _num(g["roas"], 2), _num(g["ltv_to_cac"], 2)] for g in groups])  # fmt: skip
    else:
        console.print(
            "Cost KPIs: only by and where channel or campaign (cost belongs to campaigns)."
        )
    reasons = [[g["group"], r["reason"], f"{r['count']:,}", _pct(r["share"])]
               for g in groups for r in g["lost_reasons"]]  # fmt: skip
    if reasons:
        _table("Lost reasons", by, ["reason", "lost deals", "share"], reasons)


def kpi_command(
    by: Annotated[str | None, typer.Option(help=f"Group by: {', '.join(KPI_DIMENSIONS)}.")] = None,
    attribution: Annotated[
        str | None,
        typer.Option(
            help="first_touch (default) or last_touch, for channel/campaign/utm groups and filters."
        ),
    ] = None,
    period_from: Annotated[
        str | None, typer.Option("--from", help="Leads created, and spend, on or after this date.")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="Leads created, and spend, on or before this date.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where", help="Only leads with DIMENSION=VALUE, e.g. region=EMEA (repeatable)."
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lead-to-cash KPIs: stages reached, first response, deals, win rate, velocity, cost,
    CPL, CAC, ROI/ROAS, LTV and lost reasons, overall or per group."""
    start, end = _day(period_from, "--from"), _day(period_to, "--to")
    with open_app(db) as app:
        result = run_kpis(engine=app.analytics, now=app.clock(), by=by, attribution=attribution,
                          period_from=start, period_to=end, where=where)  # fmt: skip
    data = result.to_dict()
    emit(as_json, data, lambda: _render(data))
