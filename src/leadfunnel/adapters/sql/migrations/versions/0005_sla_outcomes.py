"""SLA outcomes: every decided first-response clock, append-only

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:02:15.868987
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadfunnel.adapters.sql.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_outcomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column(
            "started_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "due_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "responded_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reclaimed", sa.Boolean(), nullable=False),
        sa.Column("at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('met', 'breached')", name=op.f("ck_sla_outcomes_status")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_sla_outcomes_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sla_outcomes_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_sla_outcomes_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_outcomes")),
    )
    with op.batch_alter_table("sla_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_outcomes_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sla_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_outcomes_lead_id"))

    op.drop_table("sla_outcomes")
