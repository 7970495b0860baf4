"""``leadfunnel db``: schema migrations."""

from __future__ import annotations

import typer

from leadfunnel.adapters.sql.engine import describe_url
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.entrypoints.cli.common import DbOption, JsonOption, console, emit, open_app

db_app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create the schema, or migrate it to this version of leadfunnel (safe to repeat)."""
    with open_app(db, require_schema=False) as app:
        before, after = upgrade(app.engine)
        where = describe_url(app.settings.database_url)
    emit(
        as_json,
        {"database": where, "from_revision": before, "to_revision": after},
        lambda: console.print(
            f"{where}: schema at revision {after}"
            + (" (already current)" if before == after else f" (was {before or 'empty'})")
        ),
    )
