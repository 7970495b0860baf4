"""Alembic environment: runs on the engine handed in by leadfunnel.adapters.sql.migrate."""

from __future__ import annotations

from alembic import context

from leadfunnel.adapters.sql.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
