"""``leadfunnel route ...``: routing rules, SLA policies and calendars; routing backlogs;
why a lead went where it went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    cli_actor,
    console,
    emit,
    open_app,
    parse_uuid,
)
from leadfunnel.services.routing import (
    KINDS,
    activate_rule_set,
    import_rule_set,
    put_calendar,
    replay_rules,
    route_backlog,
    routing_history,
    sla_clock,
)
from leadfunnel.services.scoring_models import FORMATS, read_model_document

__all__ = ["route_app"]

route_app = typer.Typer(
    help="Lead routing: rules, SLA policies, calendars, backlogs, explanations."
)

KindArg = Annotated[
    str, typer.Argument(help="routing (assignment rules) or sla (first-response policies).")
]
FileArg = Annotated[
    Path, typer.Argument(help="A .toml, .yaml/.yml or .json file.", exists=True, dir_okay=False)
]


def _document(file: Path) -> dict[str, object]:
    suffix = file.suffix.lower().lstrip(".")
    fmt = {"yml": "yaml"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise ValidationError(
            "FILE", f"cannot tell the format of {file.name}; use .toml, .yaml or .json"
        )
    return read_model_document(file.read_text(encoding="utf-8"), fmt)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError("KIND", f"'{kind}' is not one of: {', '.join(KINDS)}")
    return kind


@route_app.command("import")
def import_command(
    kind: KindArg, file: FileArg, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Validate routing rules or SLA policies and store them as the next draft version."""
    document = _document(file)
    with open_app(db) as app:
        stored = import_rule_set(
            uow_factory=app.uow_factory,
            kind=_kind(kind),
            document=document,
            actor=cli_actor(),
            now=app.clock(),
        )
    emit(as_json, stored.to_dict(), lambda: console.print(
        f"Stored {kind} rules v{stored.version} as a draft. Next: leadfunnel route activate {kind} --version {stored.version}"))  # fmt: skip


@route_app.command("activate")
def activate_command(
    kind: KindArg,
    version: Annotated[int, typer.Option("--version", help="The version to activate.", min=1)],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a version the active routing rules or SLA policies (the previous one is retired)."""
    with open_app(db) as app:
        done = activate_rule_set(
            uow_factory=app.uow_factory,
            kind=_kind(kind),
            version=version,
            actor=cli_actor(),
            now=app.clock(),
        )
    emit(as_json, done.to_dict(), lambda: console.print(f"Activated {kind} rules v{version}."))


@route_app.command("calendar")
def calendar_command(file: FileArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create or replace a business-hours calendar (time zone, working hours, holidays)."""
    document = _document(file)
    with open_app(db) as app:
        name = put_calendar(uow_factory=app.uow_factory, document=document, now=app.clock())
    emit(as_json, {"calendar": name}, lambda: console.print(f"Calendar '{name}' stored."))


@route_app.command("run")
def run_command(
    limit: Annotated[
        int, typer.Option(help="At most this many pool leads, oldest first.", min=1, max=100_000)
    ] = 1000,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Route the shared pool's open leads by the active rules (backlogs, or after a change)."""
    with open_app(db) as app:
        decisions = route_backlog(
            uow_factory=app.uow_factory, now=app.clock(), actor=cli_actor(), limit=limit
        )

    def render() -> None:
        console.print(f"Routed {len(decisions):,} leads.")
        for decision in decisions[:20]:
            console.print(f"  {decision.reason}")

    emit(as_json, {"routed": len(decisions), "decisions": [d.to_dict() for d in decisions]}, render)


@route_app.command("explain")
def explain_command(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every owner change of a lead with the rule and reason, and its first-response SLA clock."""
    lead = parse_uuid(lead_id, field="lead_id")
    with open_app(db) as app:
        history = routing_history(uow_factory=app.uow_factory, lead_id=lead)
        clock = sla_clock(uow_factory=app.uow_factory, lead_id=lead)

    def render() -> None:
        table = Table("when (UTC)", "by", "rule", "reason", title="Assignments")
        for row in history:
            table.add_row(
                row["at"].strftime("%Y-%m-%d %H:%M:%S"),
                row["actor"],
                row["rule"] or "",
                row["reason"],
            )
        console.print(table)
        if clock:
            console.print(
                f"SLA '{clock['policy']}': {clock['status']}, due {clock['due_at']:%Y-%m-%d %H:%M:%S} UTC"
            )

    emit(as_json, {"assignments": history, "sla": clock}, render)


@route_app.command("replay")
def replay_command(
    version: Annotated[
        int,
        typer.Option("--version", help="The routing rule set version (draft or active).", min=1),
    ],
    days: Annotated[
        int, typer.Option(help="Replay the leads created in the last N days.", min=1, max=3660)
    ] = 30,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show how a routing rule set would have distributed recent leads, writing nothing."""
    with open_app(db) as app:
        replay = replay_rules(
            uow_factory=app.uow_factory, version=version, days=days, now=app.clock()
        )

    def render() -> None:
        console.print(f"Routing rules v{version} over the {replay.leads:,} leads of the last {days} days "
                      f"({replay.to_pool:,} would wait in the pool):")  # fmt: skip
        for title, counts in (
            ("rule", replay.per_rule),
            ("team", replay.per_team),
            ("rep", replay.per_rep),
        ):
            table = Table(title, "leads", "share")
            for key, count in counts.items():
                table.add_row(
                    key, f"{count:,}", f"{count / replay.leads:.1%}" if replay.leads else "-"
                )
            console.print(table)

    emit(as_json, replay.to_dict(), render)
