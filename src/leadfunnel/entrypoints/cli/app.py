"""The root ``leadfunnel`` command and :func:`main`, where errors become one line and an exit code.

Exit codes: 0 success; 1 a domain, storage or database error (the message names it);
2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import SQLAlchemyError

from leadfunnel.domain.errors import DomainError
from leadfunnel.entrypoints.cli.attribution import attribution_command
from leadfunnel.entrypoints.cli.db import db_app
from leadfunnel.entrypoints.cli.demo import DEMO_DATABASE, demo_command
from leadfunnel.entrypoints.cli.forecast import forecast_app
from leadfunnel.entrypoints.cli.funnel import funnel_app
from leadfunnel.entrypoints.cli.io import export_command, import_command
from leadfunnel.entrypoints.cli.kpi import kpi_command
from leadfunnel.entrypoints.cli.lead import lead_app
from leadfunnel.entrypoints.cli.pool import pool_app
from leadfunnel.entrypoints.cli.route import route_app
from leadfunnel.entrypoints.cli.score import score_app
from leadfunnel.entrypoints.cli.serve import serve_command
from leadfunnel.entrypoints.cli.times import stagnant_command, times_command
from leadfunnel.entrypoints.cli.users import apikey_app, team_app, user_app
from leadfunnel.entrypoints.cli.worker import worker_command

__all__ = ["DEMO_DATABASE", "app", "main", "run"]

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
app.add_typer(forecast_app, name="forecast")
app.add_typer(score_app, name="score")
app.add_typer(route_app, name="route")
app.add_typer(pool_app, name="pool")
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
app.add_typer(apikey_app, name="apikey")
app.command("kpi")(kpi_command)
app.command("attribution")(attribution_command)
app.command("times")(times_command)
app.command("stagnant")(stagnant_command)
app.command("import")(import_command)
app.command("export")(export_command)
app.command("demo")(demo_command)
app.command("worker")(worker_command)
app.command("serve")(serve_command)


def _paragraphs(group: typer.Typer) -> None:
    """Help texts are wrapped docstrings. Typer's default ("rich") mode keeps every line
    break of them, so the help came out ragged; in "markdown" mode a paragraph's lines are
    joined and rewrapped to the terminal. Set on every group, nested ones included."""
    group.rich_markup_mode = "markdown"
    for info in group.registered_groups:
        if info.typer_instance is not None:
            _paragraphs(info.typer_instance)


_paragraphs(app)


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
