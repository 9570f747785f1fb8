"""published schedule documents

Revision ID: schedules_0002
Revises: schedules_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "schedules_0002"
down_revision = "schedules_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_versions",
        sa.Column("version", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=True),
        sa.Column("comment", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_schedule_versions")),
    )


def downgrade() -> None:
    op.drop_table("schedule_versions")
