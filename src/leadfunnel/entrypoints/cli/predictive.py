"""Predictive scoring commands: train, evaluate, activate-predictive, predict,
suggest-threshold (mounted under ``leadfunnel score``)."""

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
)
from leadfunnel.services.predictive import (
    ModelReport,
    TrainingSpec,
    activate_model,
    evaluate_model,
    load_spec,
    predict_leads,
    suggest_threshold,
    train_model,
)

__all__ = ["predictive_app"]

predictive_app = typer.Typer(
    help="Predictive lead scoring: train, evaluate, activate, predict, suggest a threshold."
)

DEFAULT_NAME = "conversion"
NameArg = Annotated[
    str, typer.Argument(help=f"The predictive model's name (default: {DEFAULT_NAME}).")
]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", help="Default: the active version, else the newest.", min=1),
]


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _render_summary(report: ModelReport) -> None:
    m = report.metrics
    c = m["counts"]
    console.print(
        f"{report.name} v{report.version} ({report.status}): reached {report.target} within "
        f"{report.horizon_days} days; validation from {m['cutoff'][:10]}"
    )
    console.print(
        f"  leads {c['leads']:,}: train {c['train']:,} ({c['train_positive']:,} reached), "
        f"validation {c['validation']:,} ({c['validation_positive']:,} reached), gap {c['gap']:,}, "
        f"open {c['open']:,}, decided before scoring {c['decided']:,}"
    )
    table = Table("score", "AUC", "log loss", "Brier", title="Validation split")
    for key, title in (
        ("model", "model"),
        ("naive_bayes", "naive Bayes"),
        ("rule_score", "rule score"),
    ):
        part = m[key]
        if part.get("available") is False:
            table.add_row(title, "unavailable", "", "")
            continue
        table.add_row(title, _f(part["auc"]), _f(part.get("log_loss")), _f(part.get("brier")))
    console.print(table)
    gate = m["gate"]
    console.print(
        "gate: passed (beats every available baseline on AUC)"
        if gate["passed"]
        else "gate: refused: " + "; ".join(gate["reasons"])
    )


def _render_tables(report: ModelReport) -> None:
    m = report.metrics
    lift = Table("decile", "leads", "reached", "rate", "lift", "capture", "NB lift", "NB capture",
                 title="Lift and capture by decile (validation)")  # fmt: skip
    for ours, nb in zip(m["model"]["lift"], m["naive_bayes"]["lift"], strict=True):
        lift.add_row(str(ours["group"]), f"{ours['leads']:,}", f"{ours['positives']:.0f}", f"{ours['rate']:.1%}",
                     f"{ours['lift']:.2f}", f"{ours['capture']:.1%}", f"{nb['lift']:.2f}", f"{nb['capture']:.1%}")  # fmt: skip
    console.print(lift)
    calibration = Table("predicted", "leads", "mean predicted", "observed", title="Calibration")
    for row in m["model"]["calibration"]:
        calibration.add_row(f"{row['low']:.1f}-{row['high']:.1f}", f"{row['leads']:,}",
                            f"{row['predicted']:.1%}", f"{row['observed']:.1%}")  # fmt: skip
    console.print(calibration)


@predictive_app.command("train")
def train_command(
    name: NameArg = DEFAULT_NAME,
    spec_file: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="A TOML training spec (target, windows, fields, post_outcome).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="mql, sql, opportunity or won (default sql).")
    ] = None,
    horizon_days: Annotated[
        int | None, typer.Option(help="Reached within this many days of creation (default 90).")
    ] = None,
    observe_days: Annotated[
        int | None, typer.Option(help="Features as of creation + this many days (default 1).")
    ] = None,
    validation_fraction: Annotated[
        float | None,
        typer.Option(help="The newest share of labelled leads that validates (default 0.2)."),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field", help="A feature field (repeat); default: the fit and source fields."
        ),
    ] = None,
    numeric: Annotated[
        list[str] | None, typer.Option("--numeric", help="A field to bin as a number (repeat).")
    ] = None,
    activate: Annotated[
        bool, typer.Option("--activate", help="Activate it if it beats both baselines.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train a predictive model on the store's history and store it as a new version."""
    given: dict[str, Any] = {
        "target": target, "horizon_days": horizon_days, "observe_days": observe_days,
        "validation_fraction": validation_fraction, "fields": field or None, "numeric": numeric or None,
    }  # fmt: skip
    spec = load_spec(spec_file, **given) if spec_file else TrainingSpec.build(**given)
    with open_app(db) as app:
        report = train_model(
            uow_factory=app.uow_factory,
            name=name,
            spec=spec,
            actor=cli_actor(),
            now=app.clock(),
            activate=activate,
        )
    emit(as_json, report.to_dict(), lambda: _render_summary(report))


@predictive_app.command("evaluate")
def evaluate_command(
    name: NameArg = DEFAULT_NAME,
    version: VersionOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score a model on its validation split against the naive-Bayes and rule-score baselines."""
    with open_app(db) as app:
        report = evaluate_model(
            uow_factory=app.uow_factory, name=name, version=version, now=app.clock()
        )

    def render() -> None:
        _render_summary(report)
        _render_tables(report)

    emit(as_json, report.to_dict(), render)


@predictive_app.command("activate-predictive")
def activate_command(
    name: Annotated[str, typer.Argument(help="The predictive model's name.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Default: the newest version.", min=1)
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Activate a predictive model version, only if it beats both baselines on validation AUC."""
    with open_app(db) as app:
        report = activate_model(
            uow_factory=app.uow_factory,
            name=name,
            version=version,
            actor=cli_actor(),
            now=app.clock(),
        )
    emit(as_json, report.to_dict(), lambda: _render_summary(report))


@predictive_app.command("predict")
def predict_command(
    name: NameArg = DEFAULT_NAME,
    lead: Annotated[str | None, typer.Option("--lead", help="Only this lead (by id).")] = None,
    top: Annotated[int, typer.Option(help="Factors kept per lead.", min=1, max=20)] = 3,
    limit: Annotated[int, typer.Option(help="Leads shown (all are stored).", min=0)] = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store each open lead's probability and top factors from the active model."""
    lead_id = parse_uuid(lead, field="lead") if lead else None
    with open_app(db) as app:
        run = predict_leads(
            uow_factory=app.uow_factory, name=name, now=app.clock(), lead_id=lead_id, top=top
        )
    shown = run.predictions[:limit]
    data = {
        "model": run.name, "version": run.version, "target": run.target,
        "horizon_days": run.horizon_days, "written": run.written,
        "items": [p.to_dict() for p in shown],
    }  # fmt: skip

    def render() -> None:
        console.print(
            f"{run.name} v{run.version}: {run.written:,} leads scored "
            f"(probability of reaching {run.target} within {run.horizon_days} days)"
        )
        if shown:
            console.print("lead, probability, top factors (log-odds against an average lead):")
        for p in shown:
            factors = "; ".join(
                f"{f.feature.removeprefix('custom_fields.')}={f.value} {f.effect:+.2f}"
                for f in p.factors
            )
            console.print(f"  {p.lead_id}  {p.probability:6.1%}  {factors}")

    emit(as_json, data, render)


@predictive_app.command("suggest-threshold")
def suggest_threshold_command(
    name: NameArg = DEFAULT_NAME,
    reps: Annotated[int, typer.Option(help="Sales reps working MQLs.", min=1)] = 1,
    leads_per_rep_week: Annotated[
        float, typer.Option(help="Leads one rep can work in a week.", min=0.1)
    ] = 50,
    leads_per_week: Annotated[
        float | None,
        typer.Option(help="Weekly lead inflow (default: the last 12 weeks' average).", min=0.1),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suggest the MQL probability threshold that fits sales capacity, from the lift curve."""
    with open_app(db) as app:
        model, found = suggest_threshold(
            uow_factory=app.uow_factory,
            name=name,
            reps=reps,
            leads_per_rep_week=leads_per_rep_week,
            leads_per_week=leads_per_week,
        )

    def render() -> None:
        console.print(
            f"{model['name']} v{model['version']} ({model['status']}): capacity "
            f"{found.capacity_per_week:,.0f} leads/week of {found.leads_per_week:,.0f} arriving "
            f"({found.share:.0%})"
        )
        console.print(
            f"MQL when probability >= {found.threshold:.3f}: captures {found.capture:.0%} of "
            f"conversions at {found.precision:.0%} conversion (lift {found.lift:.2f}), about "
            f"{found.conversions_per_week:,.1f} conversions a week"
        )

    emit(as_json, {"model": model, **found.to_dict()}, render)
