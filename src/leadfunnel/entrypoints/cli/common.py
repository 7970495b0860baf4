"""What every command shares: the ``--db`` and ``--json`` options, opening the app,
writing output, and the one place domain errors become a message and an exit code."""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from leadfunnel.bootstrap import App, build_app
from leadfunnel.config import load_settings
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.documents import format_of, read_document

__all__ = [
    "DbOption",
    "JsonOption",
    "cli_actor",
    "console",
    "emit",
    "open_app",
    "parse_uuid",
    "read_rules_file",
]

# soft_wrap: a message is one line in logs and pipes, whatever the width.
console = Console(highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///FILE or postgresql+psycopg://...) or a SQLite file path. "
        "Default: $LEADFUNNEL_DATABASE_URL, else sqlite:///./leadfunnel.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Write machine-readable JSON to stdout.")]


@contextmanager
def open_app(db: str | None, *, require_schema: bool = True) -> Iterator[App]:
    app = build_app(load_settings(database=db), require_schema=require_schema)
    try:
        yield app
    finally:
        app.close()


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def emit(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    """Write ``data`` as JSON, or call ``render`` to print it for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n")
    else:
        render()


def parse_uuid(value: str, *, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a lead id (a UUID)") from None


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def read_rules_file(file: Path, fmt: str | None = None) -> dict[str, Any]:
    """A scoring model, rule set or calendar file as a table (TOML, YAML or JSON)."""
    return read_document(file.read_text(encoding="utf-8"), format_of(file.name, fmt))
