"""Alembic environment: runs on the engine handed in by leadfunnel.adapters.sql.migrate.

On SQLite, foreign-key enforcement is switched off while migrations run (a batch migration
rebuilds a table by copy, drop and rename, which enforcement would block while other tables
refer to it), then switched back on, and ``PRAGMA foreign_key_check`` must come back empty:
this is the procedure SQLite's documentation gives for schema changes.
"""

from __future__ import annotations

from alembic import context

from leadfunnel.adapters.sql.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:  # outside any transaction: the pragma is a no-op inside one
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows violating foreign keys: {broken[:5]}")
        connection.commit()
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
