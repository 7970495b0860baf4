"""``leadfunnel times``: time in each stage, and time to convert between funnel steps."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from leadfunnel.analytics.durations import DurationStats
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.analytics import (
    stagnant_leads,
    time_in_stage,
    time_to_convert,
    time_to_convert_by,
)

__all__ = ["stagnant_command", "times_command"]


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _table(title: str, first: str, rows: list[tuple[str, DurationStats]], with_open: bool) -> Table:
    table = Table(
        first, "count", "mean d", "median d", "p90 d", *(["open"] if with_open else []), title=title
    )
    for name, s in rows:
        table.add_row(name, f"{s.count:,}", _days(s.mean_days), _days(s.median_days), _days(s.p90_days),
                      *([f"{s.open:,}"] if with_open else []))  # fmt: skip
    return table


def times_command(
    steps: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated funnel steps for time to convert (default: the whole path)."
        ),
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="Conversion window from the first step, e.g. 90d.")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="ordered (default), strict or any.")] = None,
    events: Annotated[
        str | None,
        typer.Option(
            help="Event steps instead of --steps, as for leadfunnel funnel: touchpoint kinds and "
            "stages, e.g. ad_click,form_submit,opportunity."
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated events that drop a lead between two steps, e.g. unsubscribe."
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Time to convert per value of a lead dimension, e.g. channel, or a custom field: "
            "custom.NAME."
        ),
    ] = None,
    attribution: Annotated[
        str | None,
        typer.Option(help="For --by and --where: first_touch (default) or last_touch."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="Time to convert of the leads with DIMENSION=VALUE only, e.g. channel=webinar "
            "(repeatable).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """How long leads stay in each stage, and take from each funnel step to the next (days)."""
    question: dict[str, Any] = {
        "steps": steps.split(",") if steps else None, "window": window, "mode": mode,
        "events": events.split(",") if events is not None else None,
        "exclude": exclude.split(",") if exclude is not None else None, "where": where,
        "attribution": attribution,
    }  # fmt: skip
    with open_app(db) as app:
        now = app.clock()
        stages = time_in_stage(engine=app.analytics, now=now)
        if by is None:
            spec, gaps = time_to_convert(engine=app.analytics, now=now, **question)
            groups: dict[str | None, list[DurationStats]] = {None: gaps}
        else:
            spec, by_group = time_to_convert_by(
                engine=app.analytics, now=now, breakdown=by, **question
            )
            groups = {group: gaps for group, gaps in by_group.items()}
    steps_pairs = list(zip(spec.steps, spec.steps[1:], strict=False))
    converts = [{**({"group": group} if by is not None else {}), "from": a, "to": b, **g.to_dict()}
                for group, gaps_of in groups.items() for (a, b), g in zip(steps_pairs, gaps_of, strict=True)]  # fmt: skip
    data = {
        "time_in_stage": {k: v.to_dict() for k, v in stages.items()},
        "time_to_convert": converts,
    }
    rows = [
        (f"{group}: " if by is not None else "") + f"{a} -> {b}"
        for group in groups
        for a, b in steps_pairs
    ]
    flat = [g for gaps_of in groups.values() for g in gaps_of]

    def render() -> None:
        console.print(
            _table("Time in stage (finished stays)", "stage", list(stages.items()), with_open=True)
        )
        console.print(
            _table("Time to convert", "steps", list(zip(rows, flat, strict=True)), with_open=False)
        )

    emit(as_json, data, render)


def stagnant_command(
    threshold: Annotated[
        str,
        typer.Option(
            help="How long is too long: 30d for every open stage, or per stage: mql=14d,sql=30d."
        ),
    ] = "30d",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open leads stuck in their stage longer than a threshold, per stage."""
    with open_app(db) as app:
        rows = stagnant_leads(engine=app.analytics, now=app.clock(), threshold=threshold)

    def render() -> None:
        table = Table(
            "stage", "open", "stagnant", "share", "threshold d", "longest d", title="Stagnant leads"
        )
        for r in rows:
            share = f"{r.stagnant / r.open:.1%}" if r.open else "-"
            table.add_row(
                r.stage,
                f"{r.open:,}",
                f"{r.stagnant:,}",
                share,
                _days(r.threshold_days),
                _days(r.longest_days),
            )
        console.print(table)

    emit(as_json, {"threshold": threshold, "stages": [r.to_dict() for r in rows]}, render)
