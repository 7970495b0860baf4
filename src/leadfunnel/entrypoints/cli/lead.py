"""``leadfunnel lead``: add, show, list and move leads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from leadfunnel.domain.access import SYSTEM
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
from leadfunnel.services.intake import intake_lead
from leadfunnel.services.lead_input import parse_lead_input, parse_timestamp
from leadfunnel.services.leads import get_lead, list_leads
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.sla import RESPONSE_KINDS, log_activity, user_id_for

lead_app = typer.Typer(help="Add, inspect, list and move leads.", no_args_is_help=True)

Text = Annotated[str | None, typer.Option(show_default=False)]


def _read_data(data: str) -> dict[str, Any]:
    """``--data`` is inline JSON, ``@file.json`` or ``-`` for standard input."""
    if data == "-":
        text = sys.stdin.read()
    elif data.startswith("@"):
        try:
            text = Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError("--data", f"cannot read {data[1:]}: {exc.strerror}") from None
    else:
        text = data
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "--data", f"is not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(parsed, dict):
        raise ValidationError("--data", "must be a JSON object of field -> value")
    return parsed


@lead_app.command("add")
def add_command(
    email: Text = None,
    phone: Text = None,
    first_name: Text = None,
    last_name: Text = None,
    company: Text = None,
    title: Text = None,
    region: Text = None,
    country: Text = None,
    industry: Text = None,
    company_size: Text = None,
    product_interest: Text = None,
    channel: Text = None,
    campaign: Text = None,
    landing_url: Text = None,
    stage: Text = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="All fields as a JSON object: inline, @file.json, or - for stdin. Options override it."
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Retry-safe key: the same key and fields return the first result."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a lead through intake: normalised, de-duplicated, with a touchpoint recorded.

    A lead matching an existing one by email or phone is merged, never duplicated.
    """
    fields: dict[str, Any] = _read_data(data) if data else {}
    options = {
        "email": email,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "title": title,
        "region": region,
        "country": country,
        "industry": industry,
        "company_size": company_size,
        "product_interest": product_interest,
        "channel": channel,
        "campaign": campaign,
        "landing_url": landing_url,
        "stage": stage,
    }
    fields.update({k: v for k, v in options.items() if v is not None})
    with open_app(db) as app:
        draft = parse_lead_input(
            fields, now=app.clock(), default_region=app.settings.default_region, history=True
        )
        result = intake_lead(
            uow_factory=app.uow_factory,
            draft=draft,
            source="cli",
            actor=cli_actor(),
            now=app.clock(),
            idempotency_key=idempotency_key,
        )
    emit(
        as_json,
        result.to_dict(),
        lambda: console.print(
            f"{result.outcome} lead {result.lead_id}"
            + (f" (matched on {result.matched_on})" if result.matched_on else "")
            + (" [replayed]" if result.replayed else "")
        ),
    )


_PROFILE = (
    "id",
    "stage",
    "email",
    "phone",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "title",
    "region",
    "country",
    "industry",
    "company_size",
    "product_interest",
    "channel",
    "campaign",
    "first_utm_source",
    "first_utm_medium",
    "first_utm_campaign",
    "last_channel",
    "last_touch_at",
    "owner_id",
    "in_pool",
    "score",
    "grade",
    "created_at",
)


def _describe(entry: dict[str, Any]) -> str:
    if entry["type"] == "stage_change":
        source = entry["from_stage"] or "(new)"
        reason = f": {entry['reason']}" if entry["reason"] else ""
        return f"stage {source} -> {entry['to_stage']} by {entry['actor']}{reason}"
    if entry["type"] == "touchpoint":
        where = f" {entry['url']}" if entry["url"] else ""
        return f"{entry['kind']} via {entry['channel'] or 'unknown'}{where}"
    if entry["type"] == "assignment":
        return f"owner {entry['from_owner_id'] or '(pool)'} -> {entry['to_owner_id'] or '(pool)'}: {entry['reason']}"
    return f"{entry['kind']}: {entry['subject'] or ''}".rstrip(": ")


@lead_app.command("show")
def show_command(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a lead's profile and its timeline of touchpoints, activities and stage changes."""
    with open_app(db) as app:
        view = get_lead(uow_factory=app.uow_factory, principal=SYSTEM,
                        lead_id=parse_uuid(lead_id, field="lead_id"))  # fmt: skip

    def render() -> None:
        profile = Table(show_header=False, box=None)
        for name in _PROFILE:
            if view.lead.get(name) not in (None, ""):
                profile.add_row(name, str(view.lead[name]))
        console.print(profile)
        timeline = Table("when (UTC)", "what", title="Timeline")
        for entry in view.timeline:
            timeline.add_row(entry["at"].strftime("%Y-%m-%d %H:%M:%S"), _describe(entry))
        console.print(timeline)

    emit(as_json, {"lead": view.lead, "timeline": view.timeline}, render)


@lead_app.command("list")
def list_command(
    stage: Text = None,
    channel: Text = None,
    region: Text = None,
    industry: Text = None,
    search: Annotated[
        str | None, typer.Option(help="Text in email, phone, company, name or external id.")
    ] = None,
    in_pool: Annotated[
        bool | None, typer.Option("--in-pool/--owned", help="Only pool leads, or only owned ones.")
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            help="created_at, updated_at, stage_entered_at or score; '-' first for descending."
        ),
    ] = "-created_at",
    limit: Annotated[int, typer.Option(help="Page size (1-1000).")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="next_cursor of the previous page, to read the next one.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List leads with filters, newest first by default, a page at a time."""
    filters = {
        "stage": stage,
        "channel": channel,
        "region": region,
        "industry": industry,
        "search": search,
        "in_pool": in_pool,
    }
    with open_app(db) as app:
        page = list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters=filters,
                          sort=sort, cursor=cursor, limit=limit)  # fmt: skip

    def render() -> None:
        table = Table(
            "id",
            "stage",
            "email / phone",
            "company",
            "channel",
            "created (UTC)",
            title=f"{page.total} leads (showing {len(page.items)})",
        )
        for lead in page.items:
            table.add_row(
                str(lead["id"]),
                lead["stage"],
                lead["email"] or lead["phone"] or lead["external_id"],
                lead["company"] or "",
                lead["channel"],
                lead["created_at"].strftime("%Y-%m-%d %H:%M"),
            )
        console.print(table)

    emit(
        as_json,
        {
            "total": page.total,
            "limit": page.limit,
            "next_cursor": page.next_cursor,
            "items": page.items,
        },
        render,
    )


@lead_app.command("move")
def move_command(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    to: Annotated[str, typer.Option("--to", help="Target stage.")],
    reason: Annotated[
        str | None, typer.Option(help="Why (required for lost and disqualified).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a lead to another lifecycle stage (refused unless the move is allowed)."""
    with open_app(db) as app:
        change = move_lead(
            uow_factory=app.uow_factory,
            lead_id=parse_uuid(lead_id, field="lead_id"),
            to=to,
            reason=reason,
            actor=cli_actor(),
            now=app.clock(),
        )
    emit(
        as_json,
        change.to_dict(),
        lambda: console.print(
            f"lead {change.lead_id}: {change.from_stage.value} -> {change.to_stage.value}"
        ),
    )


@lead_app.command("log")
def log_command(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    kind: Annotated[str, typer.Option(help=f"{', '.join(RESPONSE_KINDS)}, note or task.")],
    by: Annotated[str, typer.Option("--by", help="The user who did it: email or id.")],
    at: Annotated[str | None, typer.Option(help="When, ISO 8601 (default: now).")] = None,
    subject: Text = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log a call, email, meeting, chat, note or task; the owner's first response stops the
    lead's SLA clock."""
    with open_app(db) as app:
        now = app.clock()
        when = parse_timestamp(at, field="at") if at else now
        user = user_id_for(uow_factory=app.uow_factory, ref=by)
        clock = log_activity(uow_factory=app.uow_factory, lead_id=parse_uuid(lead_id, field="lead_id"), user_id=user,
                             kind=kind, at=when, subject=subject, actor=cli_actor(), now=now)  # fmt: skip

    def render() -> None:
        console.print(f"Logged {kind}.")
        if clock:
            console.print(f"SLA '{clock['policy']}': {clock['status']}")

    emit(as_json, {"logged": kind, "sla": clock}, render)
