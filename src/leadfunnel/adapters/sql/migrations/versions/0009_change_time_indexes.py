"""Change-time indexes: the analytics sync reads the leads, opportunities and activities
changed since its mark, which without them is a full scan of each table on every sync

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 04:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_leads_updated_at", "leads", "updated_at"),
    ("ix_opportunities_updated_at", "opportunities", "updated_at"),
    ("ix_activities_created_at", "activities", "created_at"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
