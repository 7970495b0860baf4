"""``leadfunnel attribution``: which channels or campaigns earned the conversions, and at what
cost, under one attribution model, optionally side by side with others."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.entrypoints.cli.kpi import _day
from leadfunnel.services.attribution import ATTRIBUTION_MODELS, run_attribution

__all__ = ["attribution_command"]


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _table(title: str, by: str, heads: list[str], rows: list[list[str]]) -> None:
    table = Table(by, *heads, title=title, title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)  # fmt: skip
    for column in table.columns[1:]:
        column.justify = "right"
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _render(data: dict[str, Any]) -> None:
    by, groups, won = data["by"], data["groups"], data["conversion"] == "won"
    lost = data["unattributed"]["conversions"]
    console.print(
        f"{data['model']} attribution of {data['conversions']:,} {data['conversion']} conversions "
        f"({data['level']} level) over {data['journeys']:,} journeys"
        + (f"; {lost:,} without a touch in the window are not attributed" if lost else "")
    )
    _table(f"Credit by {by}", by, ["conversions", *(["revenue"] if won else [])],
           [[g["group"], _num(g["conversions"], 1), *([_num(g["revenue"])] if won else [])]
            for g in groups])  # fmt: skip
    if any(g["cost"] is not None for g in groups):
        heads = ["cost", "CPL", "per MQL", "per SQL", "CAC" if won else "per conv.",
                 *(["ROI", "ROAS"] if won else [])]  # fmt: skip
        _table("Cost (CPL, per MQL, per SQL: leads they brought)", by, heads,
               [[g["group"], _num(g["cost"]), _num(g["cpl"], 2), _num(g["cost_per_mql"], 2),
                 _num(g["cost_per_sql"], 2), _num(g["cost_per_conversion"], 2),
                 *([_num(g["roi"], 2), _num(g["roas"], 2)] if won else [])]
                for g in groups])  # fmt: skip
    if data["removal_effects"]:
        effects = sorted(data["removal_effects"].items(), key=lambda kv: -kv[1])
        _table("Markov removal effects", "channel", ["effect"],
               [[name, f"{value:.1%}"] for name, value in effects])  # fmt: skip
    if len(data["comparison"]) > 1:
        models = list(data["comparison"])
        names = sorted({g for credits in data["comparison"].values() for g in credits})
        key = "revenue" if won else "conversions"
        rows = [[name, *(_num(data["comparison"][m].get(name, {}).get(key, 0.0), 1) for m in models)]
                for name in names]  # fmt: skip
        _table(f"Attributed {key} by model", by, models, rows)


def attribution_command(
    model: Annotated[
        str, typer.Option(help=f"Attribution model: {', '.join(ATTRIBUTION_MODELS)}.")
    ] = "linear",
    conversion: Annotated[
        str, typer.Option(help="Conversion to explain: mql, sql, opportunity or won (by revenue).")
    ] = "won",
    by: Annotated[str, typer.Option(help="Credit per channel or campaign.")] = "channel",
    compare: Annotated[
        str | None, typer.Option(help="Other models to compare with, comma-separated.")
    ] = None,
    level: Annotated[
        str, typer.Option(help="lead, or account (all leads of an account explain its conversion).")
    ] = "lead",
    lookback: Annotated[
        str | None, typer.Option(help="Only touches this long before the conversion, e.g. 90d.")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only touchpoints of this kind (repeatable)."),
    ] = None,
    period_from: Annotated[
        str | None, typer.Option("--from", help="Leads created, and spend, on or after this date.")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="Leads created, and spend, on or before this date.")
    ] = None,
    half_life: Annotated[
        str | None, typer.Option(help="time_decay: weight halves this long before conversion.")
    ] = None,
    order: Annotated[
        int | None, typer.Option(help="markov: how many past channels a state remembers (1-4).")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="custom: shares of first, lead, opportunity, last, middle (sum 1)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Multi-touch attribution and channel economics: credit, cost, CPL, cost per MQL/SQL,
    CAC, ROI and ROAS per channel or campaign under a model, and a comparison of models."""
    start, end = _day(period_from, "--from"), _day(period_to, "--to")
    with open_app(db) as app:
        result = run_attribution(
            engine=app.analytics, now=app.clock(), model=model, conversion=conversion, by=by,
            compare=(compare or "").split(","), level=level, lookback=lookback, kinds=kind,
            period_from=start, period_to=end, half_life=half_life, order=order, weights=weights,
        )  # fmt: skip
    data = result.to_dict()
    emit(as_json, data, lambda: _render(data))
