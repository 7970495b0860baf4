"""Saved views: a person's named filter sets of a list page

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadfunnel.adapters.sql.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_Time = leadfunnel.adapters.sql.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("page", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", _Time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "page", "name", name=op.f("uq_saved_views_user_id_page_name")),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
