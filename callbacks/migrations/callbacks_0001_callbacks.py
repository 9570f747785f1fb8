"""callbacks and callback attempts

Revision ID: callbacks_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "callbacks_0001"
down_revision = None
branch_labels = ("callbacks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(100), nullable=True),
        sa.Column("arrival_time", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("waited_seconds", sa.Float, nullable=False),
        sa.Column("position", sa.Integer, nullable=True),
        sa.Column("context", sa.JSON, nullable=True),
        sa.Column("merged", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("leased_until", UtcDateTime, nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("active_key", name=op.f("uq_callbacks_active_key")),
    )
    op.create_index(op.f("ix_callbacks_number"), "callbacks", ["number"])
    op.create_index("ix_callbacks_state_due_at", "callbacks", ["state", "due_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("callback_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("target", sa.String(128), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("dispatcher", sa.String(64), nullable=False),
        sa.Column("counted", sa.Integer, nullable=False),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE",
                                name=op.f("fk_callback_attempts_callback_id_callbacks")),
    )
    op.create_index(op.f("ix_callback_attempts_callback_id"), "callback_attempts", ["callback_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_attempts_callback_id"), table_name="callback_attempts")
    op.drop_table("callback_attempts")
    op.drop_index("ix_callbacks_state_due_at", table_name="callbacks")
    op.drop_index(op.f("ix_callbacks_number"), table_name="callbacks")
    op.drop_table("callbacks")
