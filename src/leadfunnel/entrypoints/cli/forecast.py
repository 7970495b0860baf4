"""``leadfunnel forecast``: a period's expected bookings with their range, categories and deal
health; ``forecast backtest``: how accurate past forecasts were (docs/concepts/forecasting.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.forecast import backtest_forecast, forecast_period

__all__ = ["forecast_app"]

forecast_app = typer.Typer(
    help="Forecast a month's or quarter's bookings from the pipeline, and backtest past forecasts."
)

By = Annotated[
    str | None, typer.Option(help="Break down by team, rep, product or channel (default: none).")
]
Draws = Annotated[int, typer.Option(help="Monte Carlo draws (100-100,000).")]
Seed = Annotated[int, typer.Option(help="Random seed: the same seed gives the same range.")]
Probabilities = Annotated[
    str,
    typer.Option(help="learned (from the stage history) or fixed (the per-stage table)."),
]
Subject = Annotated[
    str,
    typer.Option(
        help="deals (default: opportunities and amounts) or leads (won leads, from the lifecycle)."
    ),
]


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("--as-of", f"'{value}' is not a date (YYYY-MM-DD)") from None


def _table(title: str, heads: list[str]) -> Table:
    table = Table(*heads, title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in table.columns[1:]:
        column.justify = "right"
    return table


def _render(data: dict[str, Any]) -> None:
    table = _table(
        f"Forecast {data['period']} as of {data['as_of'][:10]} ({data['draws']:,} draws)",
        [data["by"] or "", "closed won", "open deals", "expected", "P10", "P50", "P90",
         "won deals P10-P90", "new pipeline won"],
    )  # fmt: skip
    for row in [*data["rows"], *([data["total"]] if data["by"] else [])]:
        b, d = row["bookings"], row["deals"]
        table.add_row(row["group"], _money(row["closed_won"]), f"{row['open_deals']:,}", _money(row["expected"]),
                      _money(b["p10"]), _money(b["p50"]), _money(b["p90"]), f"{d['p10']:.0f}-{d['p90']:.0f}",
                      _money(row["new_expected"]))  # fmt: skip
    console.print(table)
    categories = _table(
        "Forecast categories (cumulative) vs the model", ["", "amount", "deals", "model"]
    )
    for name, value in data["total"]["categories"].items():
        categories.add_row(name.replace("_", " "), _money(value["amount"]), f"{value['deals']:,}",
                           _money(value["model"]))  # fmt: skip
    console.print(categories)
    flagged = [d for d in data["deals"] if d["disagreement"]]
    for deal in flagged[:10]:
        console.print(f"flag {deal['id']} {_money(deal['amount'])}: {deal['disagreement']}")
    health = _table("Deal health per rep", ["rep", "open", "slipped", "stagnant", "no next step"])
    for rep in data["reps"]:
        health.add_row(
            rep["owner"],
            *(f"{rep[k]:,}" for k in ("open_deals", "slipped", "stagnant", "missing_next_step")),
        )
    console.print(health)


@forecast_app.callback(invoke_without_command=True)
def forecast_command(
    ctx: typer.Context,
    period: Annotated[
        str | None,
        typer.Option(help="A month (2026-03) or quarter (2026-Q1). Default: the as-of quarter."),
    ] = None,
    by: By = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Forecast as it could be made at the start of this day (YYYY-MM-DD)."),
    ] = None,
    draws: Draws = 10_000,
    seed: Seed = 0,
    probabilities: Probabilities = "learned",
    subject: Subject = "deals",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Expected bookings of a period (closed won + amount x learned probability + new pipeline),
    their P10/P50/P90 range, the reps' forecast categories against the model, and deal health."""
    if ctx.invoked_subcommand is not None:
        return
    with open_app(db) as app:
        result = forecast_period(engine=app.analytics, now=app.clock(), period=period, by=by,
                                 as_of=_as_of(as_of), draws=draws, seed=seed, probabilities=probabilities,
                                 subject=subject)  # fmt: skip
    data = result.to_dict()
    emit(as_json, data, lambda: _render(data))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@forecast_app.command("backtest")
def backtest_command(
    periods: Annotated[
        int, typer.Option(help="How many past complete periods to score (1-36).")
    ] = 12,
    unit: Annotated[str, typer.Option(help="month or quarter.")] = "month",
    last: Annotated[
        str | None,
        typer.Option(
            help="The last period to score, e.g. 2018-08 (default: the last complete one)."
        ),
    ] = None,
    by: By = None,
    draws: Draws = 2_000,
    seed: Seed = 0,
    probabilities: Probabilities = "learned",
    subject: Subject = "deals",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-run the forecast of each past period as of its first day with only what was known
    then, and score it against what was booked: MAPE, bias and P10-P90 coverage."""
    with open_app(db) as app:
        result = backtest_forecast(engine=app.analytics, now=app.clock(), periods=periods, unit=unit, by=by,
                                   last=last, draws=draws, seed=seed, probabilities=probabilities, subject=subject)  # fmt: skip
    data = result.to_dict()

    def render() -> None:
        table = _table(
            f"Backtest per {data['unit']}",
            ["period", "group", "forecast", "P10", "P90", "actual", "covered"],
        )
        for p in data["points"]:
            table.add_row(p["period"], p["group"], _money(p["forecast"]), _money(p["p10"]), _money(p["p90"]),
                          _money(p["actual"]), "yes" if p["covered"] else "no")  # fmt: skip
        console.print(table)
        summary = _table("Accuracy", ["group", "periods", "MAPE", "bias", "P10-P90 coverage"])
        for s in [*data["groups"], data["overall"]]:
            summary.add_row(
                s["group"], f"{s['periods']}", _pct(s["mape"]), _pct(s["bias"]), _pct(s["coverage"])
            )
        console.print(summary)

    emit(as_json, data, render)
