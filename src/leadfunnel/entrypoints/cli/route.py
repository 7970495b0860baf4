"""``leadfunnel route ...``: routing rules, SLA policies and calendars; routing backlogs;
why a lead went where it went."""

from __future__ import annotations

from datetime import UTC, datetime
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
    read_rules_file,
)
from leadfunnel.services.reps import deactivate_rep, list_reps, set_rep_profile
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
from leadfunnel.services.sla import user_id_for
from leadfunnel.services.sla_report import SLA_GROUPS, sla_report

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


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError("KIND", f"'{kind}' is not one of: {', '.join(KINDS)}")
    return kind


@route_app.command("import")
def import_command(
    kind: KindArg, file: FileArg, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Validate routing rules or SLA policies and store them as the next draft version."""
    document = read_rules_file(file)
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
    document = read_rules_file(file)
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


def _csv(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _away(value: str | None) -> tuple[tuple[datetime, datetime], ...] | None:
    """``START/END[,START/END...]`` as intervals; dates and times without a zone are UTC."""
    if value is None:
        return None
    spans = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        start, _, end = part.partition("/")
        try:
            spans.append((_instant(start), _instant(end)))
        except ValueError:
            raise ValidationError(
                "--away", f"'{part}' is not START/END (ISO dates or times)"
            ) from None
    return tuple(spans)


@route_app.command("rep")
def rep_command(
    rep: Annotated[str, typer.Argument(help="The rep, by email or id.")],
    weight: Annotated[
        float | None, typer.Option(help="Share in weighted round-robin (above 0).")
    ] = None,
    seniority: Annotated[
        int | None, typer.Option(help="Level for score-tiered routing (1 or more).")
    ] = None,
    max_open: Annotated[int | None, typer.Option(help="Most open leads at a time.")] = None,
    max_new_per_day: Annotated[int | None, typer.Option(help="Most new leads a day.")] = None,
    max_claims_per_day: Annotated[int | None, typer.Option(help="Most pool claims a day.")] = None,
    skills: Annotated[
        str | None, typer.Option(help="Comma-separated skills, e.g. german,enterprise.")
    ] = None,
    product_lines: Annotated[
        str | None, typer.Option(help="Comma-separated product lines sold (none: all).")
    ] = None,
    calendar: Annotated[str | None, typer.Option(help="Working-hours calendar by name.")] = None,
    away: Annotated[
        str | None,
        typer.Option(
            help="Time off: START/END[,START/END...] (ISO dates or times, UTC if no zone); '' clears."
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a rep's routing settings: weight, seniority, capacity, skills, calendar, time off."""
    changes = {"weight": weight, "seniority": seniority, "max_open": max_open, "max_new_per_day": max_new_per_day,
               "max_claims_per_day": max_claims_per_day, "skills": _csv(skills), "product_lines": _csv(product_lines),
               "calendar": calendar, "away": _away(away)}  # fmt: skip
    with open_app(db) as app:
        user = user_id_for(uow_factory=app.uow_factory, ref=rep)
        row = set_rep_profile(uow_factory=app.uow_factory, user_id=user, changes={k: v for k, v in changes.items() if v is not None},
                              now=app.clock())  # fmt: skip
    emit(as_json, row, lambda: console.print(f"Routing settings of {rep} saved."))


@route_app.command("reps")
def reps_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every rep with their team, routing settings and open leads."""
    with open_app(db) as app:
        reps = list_reps(uow_factory=app.uow_factory)

    def render() -> None:
        table = Table(
            "rep",
            "team",
            "active",
            "open",
            "max open",
            "weight",
            "seniority",
            "skills",
            "calendar",
            title="Reps",
        )
        for r in reps:
            table.add_row(r["email"], r["team"], "yes" if r["active"] else "no", str(r["open_leads"]), str(r["max_open"] or "-"),
                          str(r["weight"] or 1), str(r["seniority"] or 1), ", ".join(r["skills"] or []), r["calendar"] or "")  # fmt: skip
        console.print(table)

    emit(as_json, reps, render)


@route_app.command("deactivate")
def deactivate_command(
    rep: Annotated[str, typer.Argument(help="The rep, by email or id.")],
    leads: Annotated[
        str,
        typer.Option(
            "--leads", help="Where their open leads go: pool, reroute or rep (with --to)."
        ),
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="With --leads rep: the rep who takes them.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deactivate a rep, saying where their open leads go."""
    with open_app(db) as app:
        user = user_id_for(uow_factory=app.uow_factory, ref=rep)
        target = user_id_for(uow_factory=app.uow_factory, ref=to) if to else None
        outcome = deactivate_rep(uow_factory=app.uow_factory, user_id=user, leads_to=leads, to_rep=target,
                                 actor=cli_actor(), now=app.clock())  # fmt: skip
    emit(as_json, outcome, lambda: console.print(f"{rep} deactivated: {outcome}"))


@route_app.command("sla")
def sla_command(
    by: Annotated[str | None, typer.Option(help=f"Group by {', '.join(SLA_GROUPS)}.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """First-response SLA performance: met, breached, share within SLA, response time, reclaims."""
    with open_app(db) as app:
        rows = sla_report(uow_factory=app.uow_factory, by=by)

    def render() -> None:
        table = Table(by or "", "clocks", "met", "breached", "due", "within SLA", "mean min", "median min", "reclaims",
                      title="First-response SLA")  # fmt: skip
        for r in rows:
            share = "-" if r["within_sla"] is None else f"{r['within_sla']:.1%}"
            mean = (
                "-" if r["mean_response_minutes"] is None else f"{r['mean_response_minutes']:.1f}"
            )
            median = (
                "-"
                if r["median_response_minutes"] is None
                else f"{r['median_response_minutes']:.1f}"
            )
            table.add_row(
                r["group"],
                *(f"{r[k]:,}" for k in ("clocks", "met", "breached", "due")),
                share,
                mean,
                median,
                f"{r['reclaims']:,}",
            )
        console.print(table)

    emit(as_json, {"by": by, "groups": rows}, render)
