"""``leadfunnel score ...``: scoring models (import, list, dry run, activate), re-scoring and
explanations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    read_rules_file,
)
from leadfunnel.entrypoints.cli.predictive import predictive_app
from leadfunnel.services.scoring import (
    PassSummary,
    activate_model,
    dry_run,
    explain_lead,
    rescore_all,
)
from leadfunnel.services.scoring_models import (
    get_model,
    import_model,
    list_models,
)

__all__ = ["score_app"]

score_app = typer.Typer(help="Rule-based lead scoring: models, dry runs, activation, explanations.")

NameArg = Annotated[str, typer.Argument(help="The model's name.")]
VersionOption = Annotated[int, typer.Option("--version", help="The model version.", min=1)]


def _pct(n: int, d: int) -> str:
    return f"{n / d:.1%}" if d else "-"


def _render_pass(title: str, summary: PassSummary) -> None:
    console.print(
        f"{title}: {summary.leads:,} leads, {summary.scored:,} scored, {summary.grade_changed:,} change grade, "
        f"{summary.priority_changed:,} change priority, {summary.hot:,} become hot"
    )
    for move, count in sorted(summary.moved.items()):
        console.print(f"  {move}: {count:,} leads")
    if summary.grades:
        table = Table("grade", "leads", title="Grades")
        for grade, count in sorted(summary.grades.items()):
            table.add_row(grade, f"{count:,}")
        console.print(table)


@score_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A model file: .toml, .yaml/.yml or .json.", exists=True, dir_okay=False
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="toml, yaml or json (default: from the file's suffix)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a scoring model and store it as the model's next draft version."""
    document = read_rules_file(file, fmt)
    with open_app(db) as app:
        stored = import_model(
            uow_factory=app.uow_factory, document=document, actor=cli_actor(), now=app.clock()
        )
    emit(as_json, stored.to_dict(), lambda: console.print(
        f"Stored {stored.name} v{stored.version} as a draft. Next: leadfunnel score dry-run {stored.name} "
        f"--version {stored.version}"))  # fmt: skip


@score_app.command("models")
def models_command(
    name: Annotated[str | None, typer.Option(help="Only this model's versions.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List scoring models and their versions."""
    with open_app(db) as app:
        found = list_models(uow_factory=app.uow_factory, name=name)

    def render() -> None:
        table = Table(
            "name", "version", "status", "fit", "behaviour", "qualify", "created", "activated"
        )
        for m in found:
            d = m.to_dict()
            table.add_row(m.name, str(m.version), m.status, *(str(d["rules"][k]) for k in ("fit", "behaviour", "qualify")),
                          m.created_at.strftime("%Y-%m-%d %H:%M"), m.activated_at.strftime("%Y-%m-%d %H:%M") if m.activated_at else "")  # fmt: skip
        console.print(table)

    emit(as_json, [m.to_dict() for m in found], render)


@score_app.command("show")
def show_command(
    name: NameArg,
    version: Annotated[
        int | None,
        typer.Option("--version", help="Default: the active version, else the newest.", min=1),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one version of a model with all its rules."""
    with open_app(db) as app:
        model = get_model(uow_factory=app.uow_factory, name=name, version=version)
    data = model.to_dict(with_spec=True)

    def render() -> None:
        console.print(f"{model.name} v{model.version} ({model.status})")
        for kind in ("fit", "behaviour"):
            table = Table("rule", "points", "when", title=f"{kind} rules")
            for rule in model.spec.get(kind, []):
                table.add_row(str(rule["name"]), str(rule["points"]), str(rule["when"]))
            console.print(table)
        for rule in model.spec.get("qualify", []):
            console.print(f"qualify '{rule['name']}': -> {rule['to']} when {rule['when']}")

    emit(as_json, data, render)


@score_app.command("dry-run")
def dry_run_command(
    name: NameArg, version: VersionOption, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Show what activating a version would change, writing nothing."""
    with open_app(db) as app:
        result = dry_run(uow_factory=app.uow_factory, name=name, version=version, now=app.clock())

    def render() -> None:
        current = f"v{result.current.version}" if result.current else "no active version"
        _render_pass(f"{name} v{version} against {current}", result.summary)
        if result.thresholds:
            table = Table("qualification rule", "selected", "→ sql", "→ won", "others", "→ sql", "→ won",
                          title="How the leads each rule selects converted so far")  # fmt: skip
            for t in result.thresholds:
                table.add_row(t.rule, f"{t.selected:,}", _pct(t.selected_reached_sql, t.selected), _pct(t.selected_won, t.selected),
                              f"{t.others:,}", _pct(t.others_reached_sql, t.others), _pct(t.others_won, t.others))  # fmt: skip
            console.print(table)

    emit(as_json, result.to_dict(), render)


@score_app.command("activate")
def activate_command(
    name: NameArg, version: VersionOption, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Make a version the active one and re-score every lead (one transaction)."""
    with open_app(db) as app:
        summary = activate_model(
            uow_factory=app.uow_factory,
            name=name,
            version=version,
            actor=cli_actor(),
            now=app.clock(),
        )
    emit(as_json, summary.to_dict(), lambda: _render_pass(f"Activated {name} v{version}", summary))


@score_app.command("run")
def run_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Re-score every lead with the active models (run it nightly: behaviour points decay)."""
    with open_app(db) as app:
        summary = rescore_all(uow_factory=app.uow_factory, now=app.clock(), actor=cli_actor())
    emit(as_json, summary.to_dict(), lambda: _render_pass("Re-scored", summary))


@score_app.command("explain")
def explain_command(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why a lead has its score: each rule that fired, its points, caps and decay."""
    with open_app(db) as app:
        found = explain_lead(
            uow_factory=app.uow_factory,
            lead_id=parse_uuid(lead_id, field="lead_id"),
            now=app.clock(),
        )

    def render() -> None:
        if not found:
            console.print("No active scoring model. Import one with: leadfunnel score import FILE")
        for entry in found:
            _render_explanation(entry)

    emit(as_json, found, render)


def _render_explanation(entry: dict[str, Any]) -> None:
    name = f"{entry['model']} v{entry['version']}"
    if not entry["applies"]:
        console.print(f"{name}: does not apply to this lead (applies_to)")
        return
    now, stored = entry["now"], entry["stored"]
    console.print(f"{name}: score {now['score']} (fit {now['fit']}, engagement {now['engagement']}), "
                  f"grade {now['grade']}, priority {now['priority']}, as of {now['as_of']}")  # fmt: skip
    if stored and stored["score"] != now["score"]:
        console.print(
            f"  stored score {stored['score']} as of {stored['as_of']} (decay has moved on since)"
        )
    table = Table("rule", "kind", "events", "before decay", "points", "capped")
    for hit in now["rules"]:
        table.add_row(hit["rule"], hit["kind"], str(hit["events"]), f"{hit['before_decay']:g}", f"{hit['points']:g}",
                      "yes" if hit["capped"] else "")  # fmt: skip
    console.print(table)


# Predictive scoring (entrypoints/cli/predictive.py): score train|evaluate|activate-predictive|
# predict|suggest-threshold live beside the rule-based commands.
score_app.registered_commands.extend(predictive_app.registered_commands)
