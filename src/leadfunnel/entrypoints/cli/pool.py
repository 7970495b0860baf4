"""``leadfunnel pool ...``: the shared pool: list, claim, release, push."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadfunnel.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    cli_actor,
    console,
    emit,
    open_app,
    parse_uuid,
)
from leadfunnel.services.pool import claim_lead, pool_leads, push_lead, release_lead
from leadfunnel.services.sla import user_id_for

__all__ = ["pool_app"]

pool_app = typer.Typer(help="The shared pool: open leads nobody owns; claim, release, push.")

LeadArg = Annotated[str, typer.Argument(help="The lead's id.")]
RepOption = Annotated[str, typer.Option("--rep", help="The rep, by email or id.")]


@pool_app.command("list")
def list_command(
    limit: Annotated[
        int, typer.Option(help="At most this many leads (1-1000).", min=1, max=1000)
    ] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open leads in the shared pool, oldest first."""
    with open_app(db) as app:
        leads = pool_leads(uow_factory=app.uow_factory, limit=limit)

    def render() -> None:
        table = Table(
            "id",
            "stage",
            "email / phone",
            "company",
            "region",
            "created (UTC)",
            title=f"{len(leads)} pool leads",
        )
        for lead in leads:
            table.add_row(str(lead["id"]), lead["stage"], lead["email"] or lead["phone"] or lead["external_id"] or "",
                          lead["company"] or "", lead["region"] or "", lead["created_at"].strftime("%Y-%m-%d %H:%M"))  # fmt: skip
        console.print(table)

    emit(as_json, {"items": leads}, render)


@pool_app.command("claim")
def claim_command(
    lead_id: LeadArg, rep: RepOption, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """A rep takes a lead from the pool (race-free: of two claims, one wins)."""
    with open_app(db) as app:
        rep_id = user_id_for(uow_factory=app.uow_factory, ref=rep)
        lead = parse_uuid(lead_id, field="lead_id")
        claim_lead(
            uow_factory=app.uow_factory,
            lead_id=lead,
            rep_id=rep_id,
            now=app.clock(),
            actor=cli_actor(),
        )
    emit(
        as_json,
        {"lead": lead_id, "owner": str(rep_id)},
        lambda: console.print(f"Lead {lead_id} is now rep {rep}'s."),
    )


@pool_app.command("release")
def release_command(
    lead_id: LeadArg,
    rep: RepOption,
    reason: Annotated[str, typer.Option(help="Why the lead goes back to the pool.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The owner gives a lead back to the pool, saying why."""
    with open_app(db) as app:
        rep_id = user_id_for(uow_factory=app.uow_factory, ref=rep)
        release_lead(uow_factory=app.uow_factory, lead_id=parse_uuid(lead_id, field="lead_id"), rep_id=rep_id,
                     reason=reason, now=app.clock(), actor=cli_actor())  # fmt: skip
    emit(
        as_json,
        {"lead": lead_id, "owner": None},
        lambda: console.print(f"Lead {lead_id} is back in the pool."),
    )


@pool_app.command("push")
def push_command(
    lead_id: LeadArg,
    to: Annotated[str, typer.Option("--to", help="The rep who gets it, by email or id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """A manager gives a pool lead to a rep."""
    with open_app(db) as app:
        rep_id = user_id_for(uow_factory=app.uow_factory, ref=to)
        push_lead(uow_factory=app.uow_factory, lead_id=parse_uuid(lead_id, field="lead_id"), rep_id=rep_id,
                  now=app.clock(), actor=cli_actor())  # fmt: skip
    emit(
        as_json,
        {"lead": lead_id, "owner": str(rep_id)},
        lambda: console.print(f"Lead {lead_id} pushed to {to}."),
    )
