"""acd: the shared line (entries, agent states and offers with their owner node and lease), for one
contact centre on several nodes (PostgreSQL)

Revision ID: acd_0004_line
Revises: acd_0003_ewt
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "acd_0004_line"
down_revision = "acd_0003_ewt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acd_line_queues",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_acd_line_queues")),
    )
    op.create_table(
        "acd_line_agents",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("since", UtcDateTime, nullable=False),
        sa.Column("contact", sa.String(64), nullable=True),
        sa.Column("pending_state", sa.String(16), nullable=True),
        sa.Column("pending_reason", sa.String(16), nullable=True),
        sa.Column("wrap_up_until", UtcDateTime, nullable=True),
        sa.Column("offer_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_acd_line_agents")),
    )
    op.create_table(
        "acd_line_entries",
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("arrival", UtcDateTime, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_acd_line_entries")),
    )
    op.create_index(op.f("ix_acd_line_entries_owner"), "acd_line_entries", ["owner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_acd_line_entries_owner"), table_name="acd_line_entries")
    op.drop_table("acd_line_entries")
    op.drop_table("acd_line_agents")
    op.drop_table("acd_line_queues")
