"""``leadfunnel funnel``: stage counts and conversion from the stage history."""

from __future__ import annotations

from rich.table import Table

from leadfunnel.analytics.lifecycle_funnel import FunnelStep
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.leads import stage_funnel


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_funnel(steps: list[FunnelStep]) -> None:
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
        table.add_row(
            step.stage,
            f"{step.reached:,}",
            _pct(step.conversion_from_previous),
            _pct(step.conversion_from_first),
            f"{step.open:,}",
            f"{step.dropped:,}",
            _pct(step.drop_rate),
        )
    console.print(table)


def funnel_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Print leads reached per stage, stage-to-stage conversion, still-open and dropped counts."""
    with open_app(db) as app:
        steps = stage_funnel(uow_factory=app.uow_factory)
    emit(as_json, {"steps": [s.to_dict() for s in steps]}, lambda: render_funnel(steps))
