"""Forecast fields on deals: the rep's forecast category and the agreed next step

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both nullable: existing deals have no category (the forecast treats them as
    # ``pipeline``) and no next step (deal health flags that).
    op.add_column(
        "opportunities", sa.Column("forecast_category", sa.String(length=16), nullable=True)
    )
    op.add_column("opportunities", sa.Column("next_step", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_column("next_step")
        batch_op.drop_column("forecast_category")
