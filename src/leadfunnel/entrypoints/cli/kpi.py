"""``leadfunnel kpi``: lead KPIs, overall or per value of a dimension."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.services.kpis import KPI_DIMENSIONS, lead_kpis

__all__ = ["kpi_command"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def kpi_command(
    by: Annotated[str | None, typer.Option(help=f"Group by: {', '.join(KPI_DIMENSIONS)}.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Leads reached per stage and the key conversion rates, overall or per group."""
    with open_app(db) as app:
        rows = [r.to_dict() for r in lead_kpis(uow_factory=app.uow_factory, by=by)]

    def render() -> None:
        table = Table(
            by or "",
            "leads",
            "mql",
            "sql",
            "opportunity",
            "won",
            "lead→won",
            "win rate",
            title="Lead KPIs",
        )
        for r in rows:
            table.add_row(r["group"], *(f"{r[k]:,}" for k in ("leads", "mql", "sql", "opportunity", "won")),
                          _pct(r["lead_to_won"]), _pct(r["win_rate"]))  # fmt: skip
        console.print(table)

    emit(as_json, {"by": by, "groups": rows}, render)
