"""calls and call events

Revision ID: calls_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "calls_0001"
down_revision = None
branch_labels = ("calls",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("linked_id", sa.String(128), nullable=True),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("dialled", sa.String(64), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.Column("disposition", sa.String(32), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("waited_seconds", sa.Float, nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    op.create_index(op.f("ix_calls_linked_id"), "calls", ["linked_id"])
    op.create_index(op.f("ix_calls_caller"), "calls", ["caller"])
    op.create_index(op.f("ix_calls_started_at"), "calls", ["started_at"])
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("node", sa.String(128), nullable=True),
        sa.Column("data", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
    )
    op.create_index("ix_call_events_call_id_seq", "call_events", ["call_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_call_events_call_id_seq", table_name="call_events")
    op.drop_table("call_events")
    op.drop_index(op.f("ix_calls_started_at"), table_name="calls")
    op.drop_index(op.f("ix_calls_caller"), table_name="calls")
    op.drop_index(op.f("ix_calls_linked_id"), table_name="calls")
    op.drop_table("calls")
