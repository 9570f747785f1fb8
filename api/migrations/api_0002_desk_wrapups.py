"""agent desk wrap-ups

Revision ID: api_0002
Revises: api_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_wrapups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("disposition", sa.String(32), nullable=False),
        sa.Column("notes", sa.String(4000), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_desk_wrapups"),
    )
    op.create_index("ix_desk_wrapups_at", "desk_wrapups", ["at"])
    op.create_index("ix_desk_wrapups_agent_id", "desk_wrapups", ["agent_id"])
    op.create_index("ix_desk_wrapups_call_id", "desk_wrapups", ["call_id"])


def downgrade() -> None:
    op.drop_table("desk_wrapups")
