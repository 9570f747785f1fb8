"""schedule overrides

Revision ID: schedules_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "schedules_0001"
down_revision = None
branch_labels = ("schedules",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_overrides",
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("until", UtcDateTime, nullable=True),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("set_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("schedule", name=op.f("pk_schedule_overrides")),
    )


def downgrade() -> None:
    op.drop_table("schedule_overrides")
