"""Imports: resumable import jobs with their per-row errors; users' ids in source systems.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:19:18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadfunnel.adapters.sql.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = leadfunnel.adapters.sql.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.Column("finished_at", UTC(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed')", name=op.f("ck_import_jobs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index("ix_import_jobs_fingerprint", "import_jobs", ["fingerprint"], unique=False)
    op.create_table(
        "import_errors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_jobs.id"], name=op.f("fk_import_errors_job_id_import_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_errors")),
    )
    op.create_index(
        "ix_import_errors_job_id_row_number",
        "import_errors",
        ["job_id", "row_number"],
        unique=False,
    )
    # A plain ADD COLUMN and a unique index: both in place on SQLite (no table rebuild).
    op.add_column("users", sa.Column("external_id", sa.String(length=128), nullable=True))
    op.create_index("ix_users_external_id", "users", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_external_id", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("external_id")
    op.drop_index("ix_import_errors_job_id_row_number", table_name="import_errors")
    op.drop_table("import_errors")
    op.drop_index("ix_import_jobs_fingerprint", table_name="import_jobs")
    op.drop_table("import_jobs")
