"""The root ``leadfunnel`` command and :func:`main`, where errors become one line and an exit code.

Exit codes: 0 success; 1 a domain, storage or database error (the message names it);
2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.domain.errors import DomainError
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app
from leadfunnel.entrypoints.cli.db import db_app
from leadfunnel.entrypoints.cli.funnel import funnel_app, render_funnel
from leadfunnel.entrypoints.cli.io import export_command, import_command
from leadfunnel.entrypoints.cli.kpi import kpi_command
from leadfunnel.entrypoints.cli.lead import lead_app
from leadfunnel.entrypoints.cli.times import times_command
from leadfunnel.services.leads import stage_funnel
from leadfunnel.services.sample import build_sample

__all__ = ["DEMO_DATABASE", "app", "main", "run"]

DEMO_DATABASE = "leadfunnel-demo.db"

app = typer.Typer(
    name="leadfunnel",
    help="leadfunnel: capture, qualify, route and measure B2B leads.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(lead_app, name="lead")
app.add_typer(funnel_app, name="funnel")
app.command("kpi")(kpi_command)
app.command("times")(times_command)
app.command("import")(import_command)
app.command("export")(export_command)


@app.command("demo")
def demo_command(
    leads: Annotated[
        int, typer.Option(help="How many leads to simulate.", min=1, max=100_000)
    ] = 300,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a sample database (migrating it first) and print its funnel.

    Without --db it rebuilds ./leadfunnel-demo.db from scratch. A database given with --db
    that already holds leads is refused, so real data is never mixed with samples.
    """
    if db is None:
        db = DEMO_DATABASE
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_DATABASE + suffix).unlink(missing_ok=True)
    with open_app(db, require_schema=False) as lf:
        upgrade(lf.engine)
        with lf.uow_factory(write=False) as uow:
            existing = uow.leads.list(filters={}, limit=1, offset=0)[1]
        if existing:
            raise DomainError(
                f"the database already holds {existing} leads; give a new one with --db FILE"
            )
        summary = build_sample(
            uow_factory=lf.uow_factory,
            leads=leads,
            seed=seed,
            now=lf.clock(),
            default_region=lf.settings.default_region,
        )
        steps = stage_funnel(uow_factory=lf.uow_factory)
        database = lf.settings.database_url

    def render() -> None:
        console.print(
            f"Built {summary.leads} sample leads with {summary.moves} stage moves in {database}"
        )
        render_funnel(steps)
        path = database.removeprefix("sqlite:///")
        console.print(f"Next: leadfunnel lead list --db {path}   |   leadfunnel funnel --db {path}")

    emit(
        as_json,
        {
            "database": database,
            "leads": summary.leads,
            "moves": summary.moves,
            "steps": [s.to_dict() for s in steps],
        },
        render,
    )


def _fail(message: str) -> None:
    # One line on stderr, never wrapped, so scripts can grep it.
    sys.stderr.write(f"error: {' '.join(message.split())}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code. Domain errors print one line, never a traceback."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="leadfunnel", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _fail("aborted")
        return 1
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except DomainError as exc:
        _fail(exc.message)
        return 1
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"database: {detail}")
        return 1
    return 0


def run() -> None:
    sys.exit(main())
