"""``leadfunnel funnel``: lifecycle and event funnels, and ``funnel drill``: the leads behind a cell.

``--steps`` takes lifecycle stages (the funnel over the stage history); ``--events`` takes
event steps instead: touchpoint kinds and stages, e.g. ``ad_click,form_submit,opportunity``;
``--exclude`` names events that drop a lead between two steps; ``--where`` (repeatable)
keeps only the leads with a dimension's value, e.g. ``--where channel=webinar``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from leadfunnel.analytics.funnel_oracle import NONE_GROUP, FunnelResult
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.analytics import drill_leads, run_funnel

__all__ = ["funnel_app", "render_funnel"]

funnel_app = typer.Typer(
    help="Lifecycle and event funnels, and the leads behind any of their cells."
)

Steps = Annotated[
    str | None,
    typer.Option(help="Comma-separated steps, e.g. mql,sql,won (default: the whole path)."),
]
Events = Annotated[
    str | None,
    typer.Option(
        help="An event funnel instead of --steps: touchpoint kinds and stages, e.g. "
        "ad_click,form_submit,demo_request,opportunity (touch:KIND, stage:STAGE to be explicit)."
    ),
]
Exclude = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated events (same syntax as --events) that drop a lead from the funnel "
        "when done between two steps, e.g. unsubscribe."
    ),
]
CohortBy = Annotated[
    str | None,
    typer.Option(
        help="With --cohort: created (default, the lead's creation) or entered (when it did step 1)."
    ),
]
Window = Annotated[
    str | None, typer.Option(help="Conversion window from the first step, e.g. 90d, 36h, 2w.")
]
Mode = Annotated[str | None, typer.Option(help="ordered (default), strict or any.")]
Attribution = Annotated[
    str | None,
    typer.Option(help="first_touch (default) or last_touch, for channel/campaign/utm breakdowns."),
]
Cohort = Annotated[
    str | None,
    typer.Option(
        help="Group by period: day, week, month or quarter (of creation; see --cohort-by)."
    ),
]
From = Annotated[
    str | None, typer.Option("--from", help="Only leads created on or after this date.")
]
To = Annotated[str | None, typer.Option("--to", help="Only leads created on or before this date.")]
Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Only leads with DIMENSION=VALUE, e.g. channel=webinar or custom.plan=gold "
        "(repeatable; values of one dimension are alternatives, dimensions must all match).",
    ),
]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_funnel(result: FunnelResult) -> None:
    """A funnel without breakdown or cohort as a table (used by the demo)."""
    _render_rows(result, None, None)


def _render_rows(result: FunnelResult, by: str | None, cohort: str | None) -> None:
    rows = result.to_dict()["rows"]
    heads = ([by] if by else []) + ([cohort] if cohort else [])
    event = result.spec.is_event_funnel
    table = Table(
        *heads,
        "step" if event else "stage",
        "reached",
        "from previous",
        "from first",
        "open",
        "dropped",
        "drop rate",
        title="Event funnel" if event else "Lifecycle funnel",
    )
    for r in rows:
        keys = ([r["group"]] if by else []) + ([r["cohort"]] if cohort else [])
        table.add_row(*keys, r["stage"], f"{r['reached']:,}", _pct(r["conversion_from_previous"]), _pct(r["conversion_from_first"]),
                      f"{r['open']:,}", f"{r['dropped']:,}", _pct(r["drop_rate"]))  # fmt: skip
    console.print(table)
    key = result.spec.custom_key
    if key is not None and rows and all(r["group"] == NONE_GROUP for r in rows):
        console.print(f"No lead in this funnel has the custom field '{key}'.")


def _date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a date (YYYY-MM-DD)") from None


def _split(text: str | None) -> list[str] | None:
    return text.split(",") if text is not None else None


def _options(steps: str | None, events: str | None, exclude: str | None, window: str | None, mode: str | None,
             attribution: str | None, cohort: str | None, cohort_by: str | None, created_from: str | None,
             created_to: str | None, where: list[str] | None) -> dict[str, Any]:  # fmt: skip
    return {"steps": _split(steps), "events": _split(events), "exclude": _split(exclude), "window": window,
            "mode": mode, "attribution": attribution, "cohort": cohort, "cohort_by": cohort_by,
            "created_from": _date(created_from, "--from"), "created_to": _date(created_to, "--to"),
            "where": where}  # fmt: skip


@funnel_app.callback(invoke_without_command=True)
def funnel_command(
    ctx: typer.Context,
    steps: Steps = None,
    events: Events = None,
    exclude: Exclude = None,
    window: Window = None,
    mode: Mode = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Break down by a lead dimension, e.g. channel, region, owner_id, or a custom "
            "field: custom.NAME."
        ),
    ] = None,
    attribution: Attribution = None,
    cohort: Cohort = None,
    cohort_by: CohortBy = None,
    top: Annotated[
        int | None,
        typer.Option(help="With --by: keep the N largest groups, merge the rest into 'other'."),
    ] = None,
    created_from: From = None,
    created_to: To = None,
    where: Where = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Leads reached per step, conversion, still-open and dropped counts, from the stage history
    (and, for event funnels, the touchpoints)."""
    if ctx.invoked_subcommand is not None:
        return
    options = _options(steps, events, exclude, window, mode, attribution, cohort, cohort_by,
                       created_from, created_to, where)  # fmt: skip
    with open_app(db) as app:
        result = run_funnel(
            engine=app.analytics, now=app.clock(), breakdown=by, top_n=top, **options
        )
    emit(as_json, result.to_dict(), lambda: _render_rows(result, by, cohort))


def _by_value(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ValidationError(
            "--by-value", f"'{text}' is not DIMENSION=VALUE, e.g. channel=webinar"
        )
    return name.strip(), value.strip()


@funnel_app.command("drill")
def drill_command(
    step: Annotated[str, typer.Option(help="The funnel step of the cell.")],
    converted: Annotated[
        bool, typer.Option("--converted", help="Leads that went on to the next step.")
    ] = False,
    still_open: Annotated[
        bool, typer.Option("--open", help="Leads still on their way to the next step.")
    ] = False,
    dropped: Annotated[
        bool, typer.Option("--dropped", help="Leads that dropped out after the step.")
    ] = False,
    by_value: Annotated[
        str | None, typer.Option(help="A breakdown cell, DIMENSION=VALUE, e.g. channel=webinar.")
    ] = None,
    cohort_value: Annotated[
        str | None, typer.Option(help="With --cohort: the cohort's first day, e.g. 2025-03-01.")
    ] = None,
    steps: Steps = None,
    events: Events = None,
    exclude: Exclude = None,
    window: Window = None,
    mode: Mode = None,
    attribution: Attribution = None,
    cohort: Cohort = None,
    cohort_by: CohortBy = None,
    created_from: From = None,
    created_to: To = None,
    where: Where = None,
    limit: Annotated[int, typer.Option(help="Page size (1-1000).")] = 50,
    offset: Annotated[int, typer.Option(help="Leads to skip.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The leads behind one funnel cell (default: those that reached the step), with owner and last activity."""
    chosen = [
        name
        for name, flag in (("converted", converted), ("open", still_open), ("dropped", dropped))
        if flag
    ]
    if len(chosen) > 1:
        raise ValidationError("outcome", "choose at most one of --converted, --open, --dropped")
    options = _options(steps, events, exclude, window, mode, attribution, cohort, cohort_by,
                       created_from, created_to, where)  # fmt: skip
    with open_app(db) as app:
        page = drill_leads(
            engine=app.analytics, uow_factory=app.uow_factory, now=app.clock(), step=step,
            outcome=chosen[0] if chosen else "reached", by_value=_by_value(by_value),
            cohort_value=_date(cohort_value, "--cohort-value"), limit=limit, offset=offset, **options,
        )  # fmt: skip

    def render() -> None:
        table = Table("id", "stage", "email / id", "company", "channel", "owner", "last activity",
                      title=f"{page.total:,} leads (showing {page.offset + 1 if page.items else 0}-{page.offset + len(page.items)})")  # fmt: skip
        for lead in page.items:
            activity = lead["last_activity"]
            table.add_row(str(lead["id"]), lead["stage"], lead["email"] or lead["phone"] or lead["external_id"] or "",
                          lead["company"] or "", lead["channel"], str(lead["owner_id"] or "pool"),
                          f"{activity['kind']} {activity['at']:%Y-%m-%d}" if activity else "-")  # fmt: skip
        console.print(table)

    emit(
        as_json,
        {"total": page.total, "limit": page.limit, "offset": page.offset, "items": page.items},
        render,
    )
