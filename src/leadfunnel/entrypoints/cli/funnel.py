"""``leadfunnel funnel``: the lifecycle funnel, with windows, modes, breakdowns and cohorts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from leadfunnel.analytics.lifecycle_funnel import FunnelStep
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.analytics import run_funnel

__all__ = ["funnel_command", "render_funnel"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_funnel(steps: list[FunnelStep]) -> None:
    """The overall funnel as a table (used by the demo)."""
    table = Table(
        "stage",
        "reached",
        "from previous",
        "from first",
        "open",
        "dropped",
        "drop rate",
        title="Lifecycle funnel",
    )
    for step in steps:
        table.add_row(step.stage, f"{step.reached:,}", _pct(step.conversion_from_previous),
                      _pct(step.conversion_from_first), f"{step.open:,}", f"{step.dropped:,}", _pct(step.drop_rate))  # fmt: skip
    console.print(table)


def _render_rows(rows: list[dict[str, Any]], by: str | None, cohort: str | None) -> None:
    heads = ([by] if by else []) + ([cohort] if cohort else [])
    table = Table(
        *heads,
        "stage",
        "reached",
        "from previous",
        "from first",
        "open",
        "dropped",
        "drop rate",
        title="Lifecycle funnel",
    )
    for r in rows:
        keys = ([r["group"]] if by else []) + ([r["cohort"]] if cohort else [])
        table.add_row(*keys, r["stage"], f"{r['reached']:,}", _pct(r["conversion_from_previous"]), _pct(r["conversion_from_first"]),
                      f"{r['open']:,}", f"{r['dropped']:,}", _pct(r["drop_rate"]))  # fmt: skip
    console.print(table)


def _date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a date (YYYY-MM-DD)") from None


def funnel_command(
    steps: Annotated[
        str | None,
        typer.Option(help="Comma-separated steps, e.g. mql,sql,won (default: the whole path)."),
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="Conversion window from the first step, e.g. 90d, 36h, 2w.")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="ordered (default), strict or any.")] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Break down by a lead dimension, e.g. channel, region, owner_id."),
    ] = None,
    attribution: Annotated[
        str | None,
        typer.Option(
            help="first_touch (default) or last_touch, for channel/campaign/utm breakdowns."
        ),
    ] = None,
    cohort: Annotated[
        str | None, typer.Option(help="Group by creation period: day, week, month or quarter.")
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(help="With --by: keep the N largest groups, merge the rest into 'other'."),
    ] = None,
    created_from: Annotated[
        str | None, typer.Option("--from", help="Only leads created on or after this date.")
    ] = None,
    created_to: Annotated[
        str | None, typer.Option("--to", help="Only leads created on or before this date.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Leads reached per step, conversion, still-open and dropped counts, from the stage history."""
    with open_app(db) as app:
        result = run_funnel(
            engine=app.analytics, now=app.clock(),
            steps=[s for s in steps.split(",")] if steps is not None else None,
            mode=mode, window=window, breakdown=by, attribution=attribution, cohort=cohort, top_n=top,
            created_from=_date(created_from, "--from"), created_to=_date(created_to, "--to"),
        )  # fmt: skip
    data = result.to_dict()
    emit(as_json, data, lambda: _render_rows(data["rows"], by, cohort))
