"""``leadfunnel demo``: simulate a B2B company's two years of leads, print the funnel, serve
the dashboard.

The data comes from :mod:`leadfunnel.services.demo` (docs/concepts/demo-data.md); the
simulator's true parameters go to a truth file beside the database, so what analytics find
can be checked against what was simulated.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.adapters.sql.engine import describe_url
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.analytics.funnel_oracle import FunnelResult
from leadfunnel.domain.errors import DomainError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.entrypoints.cli.funnel import render_funnel
from leadfunnel.entrypoints.cli.serve import run_server
from leadfunnel.services.analytics import run_funnel
from leadfunnel.services.auth import add_user
from leadfunnel.services.demo import MAX_LEADS, DemoResult, build_demo

__all__ = ["DEMO_ADMIN", "DEMO_DATABASE", "demo_command", "truth_path_for"]

DEMO_DATABASE = "leadfunnel-demo.db"
#: The sign-in the demo creates for its dashboard (a new password each run, printed once).
DEMO_ADMIN = "admin@demo.example"
TRUTH_SUFFIX = ".truth.json"


def truth_path_for(database: str | None) -> Path:
    """Where the truth file goes: beside a SQLite file (``crm.db`` -> ``crm.truth.json``),
    else ``./leadfunnel-demo.truth.json``."""
    if database:
        path = Path(database)
        return path.with_name(path.stem + TRUTH_SUFFIX)
    return Path(Path(DEMO_DATABASE).stem + TRUTH_SUFFIX)


LeadsOption = Annotated[
    int, typer.Option(help="How many leads to simulate (up to 10,000,000).", min=1, max=MAX_LEADS)
]
SeedOption = Annotated[
    int, typer.Option(help="Random seed: the same seed gives the same data.", min=0)
]
TruthOption = Annotated[
    Path | None,
    typer.Option(
        "--truth",
        help="Where to write the simulator's true parameters (JSON). Default: beside a SQLite "
        "database (NAME.truth.json), else ./leadfunnel-demo.truth.json.",
        show_default=False,
    ),
]
NoServeOption = Annotated[
    bool,
    typer.Option(
        "--no-serve",
        help="Build and print the report, then exit instead of serving the dashboard.",
    ),
]


@dataclass(frozen=True)
class _Built:
    result: DemoResult
    funnel: FunnelResult
    where: str  # the database, password masked
    sqlite_file: str | None


def _forget_previous_demo() -> None:
    """Remove ./leadfunnel-demo.db and the analytics store derived from its old data."""
    from leadfunnel.adapters.warehouse.engine import analytics_path  # Ibis loads slowly

    analytics = analytics_path(f"sqlite:///{DEMO_DATABASE}")
    for path in (DEMO_DATABASE, analytics):
        for suffix in ("", "-wal", "-shm", "-journal", ".wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _build(db: str, leads: int, seed: int) -> _Built:
    with open_app(db, require_schema=False) as lf:
        upgrade(lf.engine)
        with lf.uow_factory(write=False) as uow:
            existing = uow.leads.list(filters={}, limit=1, offset=0)[1]
        if existing:
            raise DomainError(
                f"the database already holds {existing} leads; give another database with --db"
            )
        with BulkWriter(lf.engine) as writer:
            result = build_demo(sink=writer, leads=leads, seed=seed, now=lf.clock())
            writer.commit()
        url = lf.engine.url
        return _Built(
            result=result,
            funnel=run_funnel(engine=lf.analytics, now=lf.clock()),
            where=describe_url(lf.settings.database_url),
            sqlite_file=url.database if url.get_backend_name() == "sqlite" else None,
        )


def demo_command(
    leads: LeadsOption = 20_000,
    seed: SeedOption = 7,
    truth: TruthOption = None,
    no_serve: NoServeOption = False,
    port: Annotated[int, typer.Option(help="Port of the dashboard.", min=1, max=65535)] = 8000,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate two years of a B2B company's leads into a database, print its funnel, then
    serve the dashboard on 127.0.0.1 with a new admin sign-in (printed once).

    Without --db it rebuilds ./leadfunnel-demo.db from scratch. A database given with --db
    that already holds leads is refused, so real data is never mixed with simulated data.
    """
    if db is None:
        db = DEMO_DATABASE
        _forget_previous_demo()
    built = _build(db, leads, seed)
    truth_file = truth or truth_path_for(built.sqlite_file)
    truth_file.write_text(json.dumps(built.result.truth, indent=2) + "\n", encoding="utf-8")

    def render() -> None:
        rows = ", ".join(f"{count:,} {table}" for table, count in built.result.rows.items())
        console.print(f"Simulated {leads:,} leads (seed {seed}) into {built.where}: {rows}")
        render_funnel(built.funnel)
        console.print(f"True parameters of the simulation: {truth_file}")
        target = built.sqlite_file or built.where
        console.print(
            f"Next: leadfunnel lead list --db {target}   |   leadfunnel funnel --db {target}"
        )

    report = {"database": built.where, "leads": leads, "seed": seed, "rows": built.result.rows}
    report |= {"truth_file": str(truth_file), "steps": built.funnel.to_dict()["rows"]}
    if no_serve:
        emit(as_json, report, render)
        return
    password = secrets.token_urlsafe(12)
    with open_app(db) as lf:
        add_user(uow_factory=lf.uow_factory, email=DEMO_ADMIN, name="Demo admin", role="admin",
                 password=password, team=None, actor="demo", now=lf.clock())  # fmt: skip
        url = lf.settings.database_url
    site = f"http://127.0.0.1:{port}/"
    report |= {"dashboard": site, "login": {"email": DEMO_ADMIN, "password": password}}

    def render_and_serve() -> None:
        render()
        console.print(
            f"Dashboard: {site}  sign in as {DEMO_ADMIN} with password {password} (Ctrl+C to stop)"
        )

    emit(as_json, report, render_and_serve)
    run_server(url, host="127.0.0.1", port=port)
