"""Schema migrations with Alembic, run programmatically (``leadfunnel db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from leadfunnel.adapters.sql.engine import describe_url
from leadfunnel.domain.errors import StorageError

__all__ = ["current_revision", "ensure_current", "head_revision", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    command.upgrade(_config(engine), revision)
    after = current_revision(engine)
    assert after is not None
    return before, after


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database that is missing or not at the code's schema revision."""
    current = current_revision(engine)
    where = describe_url(str(engine.url))
    if current is None:
        raise StorageError(
            f"database {where} is not initialised; run: leadfunnel db upgrade --db '{where}'"
        )
    if current != head_revision():
        raise StorageError(
            f"database {where} is at schema revision {current}, this leadfunnel needs {head_revision()}; "
            f"run: leadfunnel db upgrade --db '{where}'"
        )
