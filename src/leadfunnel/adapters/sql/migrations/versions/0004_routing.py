"""Routing and SLA: calendars, versioned rule sets, rep profiles, team routing state, lead SLA
clocks, the job queue and in-app notifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:17:33.763680
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadfunnel.adapters.sql.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_calendars_name")),
    )
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "activated_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.CheckConstraint("kind IN ('routing', 'sla')", name=op.f("ck_rule_sets_kind")),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'retired')", name=op.f("ck_rule_sets_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_rule_sets_kind_version")),
    )
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.create_index(
            "uq_rule_sets_active_kind",
            ["kind"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "rep_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("weight", sa.Numeric(precision=8, scale=3), nullable=False),
        sa.Column("seniority", sa.Integer(), nullable=False),
        sa.Column("max_open", sa.Integer(), nullable=True),
        sa.Column("max_new_per_day", sa.Integer(), nullable=True),
        sa.Column("max_claims_per_day", sa.Integer(), nullable=True),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "product_lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("calendar", sa.String(length=100), nullable=True),
        sa.Column(
            "away",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_rep_profiles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rep_profiles")),
    )
    op.create_table(
        "team_routing_state",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("last_rep_id", sa.Uuid(), nullable=True),
        sa.Column(
            "credits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["last_rep_id"], ["users.id"], name=op.f("fk_team_routing_state_last_rep_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_routing_state_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_routing_state")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column(
            "run_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "lease_until", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "done_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_jobs_status")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_jobs_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_run_at", ["status", "run_at"], unique=False)

    op.create_table(
        "lead_sla",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
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
        sa.Column("reclaims", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint("status IN ('due', 'met', 'breached')", name=op.f("ck_lead_sla_status")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_sla_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_lead_sla_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_sla")),
    )
    with op.batch_alter_table("lead_sla", schema=None) as batch_op:
        batch_op.create_index("ix_lead_sla_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "created_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "read_at", leadfunnel.adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_notifications_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("lead_sla", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_sla_status_due_at")

    op.drop_table("lead_sla")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_run_at")

    op.drop_table("jobs")
    op.drop_table("team_routing_state")
    op.drop_table("rep_profiles")
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_rule_sets_active_kind",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("rule_sets")
    op.drop_table("calendars")
