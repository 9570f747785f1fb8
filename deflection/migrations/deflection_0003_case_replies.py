"""deflection: replies to cases from the desk, and who closed a case when

Revision ID: deflection_0003
Revises: deflection_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "deflection_0003"
down_revision = "deflection_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deflection_case_replies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("message_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_deflection_case_replies_case_id", "deflection_case_replies", ["case_id"])
    with op.batch_alter_table("deflection_cases") as batch:
        batch.add_column(sa.Column("closed_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deflection_cases") as batch:
        batch.drop_column("closed_by")
        batch.drop_column("closed_at")
    op.drop_index("ix_deflection_case_replies_case_id", table_name="deflection_case_replies")
    op.drop_table("deflection_case_replies")
