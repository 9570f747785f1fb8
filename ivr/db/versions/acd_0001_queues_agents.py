"""acd: queues, agents, agent commands, live waiting, contacts, EWT predictions

Revision ID: acd_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "acd_0001"
down_revision = None
branch_labels = ("acd",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acd_queues",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_acd_queues"),
    )
    op.create_table(
        "acd_agents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.String(16), nullable=False),
        sa.Column("state_since", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_acd_agents"),
    )
    op.create_table(
        "acd_agent_commands",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_acd_agent_commands"),
    )
    op.create_table(
        "acd_waiting",
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("arrival", UtcDateTime, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ewt_seconds", sa.Float, nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_acd_waiting"),
    )
    op.create_index("ix_acd_waiting_queue", "acd_waiting", ["queue"])
    op.create_table(
        "acd_queue_live",
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("staffed", sa.Integer, nullable=False),
        sa.Column("ewt_seconds", sa.Float, nullable=True),
        sa.Column("mean_handle_seconds", sa.Float, nullable=True),
        sa.Column("abandon_rate", sa.Float, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("queue", name="pk_acd_queue_live"),
    )
    op.create_table(
        "acd_contacts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("arrival", UtcDateTime, nullable=False),
        sa.Column("joined_at", UtcDateTime, nullable=False),
        sa.Column("left_at", UtcDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("waited_seconds", sa.Float, nullable=False),
        sa.Column("position_at_join", sa.Integer, nullable=True),
        sa.Column("position_at_exit", sa.Integer, nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("handle_seconds", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_acd_contacts"),
    )
    op.create_index("ix_acd_contacts_call_id", "acd_contacts", ["call_id"])
    op.create_index("ix_acd_contacts_queue", "acd_contacts", ["queue"])
    op.create_index("ix_acd_contacts_left_at", "acd_contacts", ["left_at"])
    op.create_table(
        "acd_predictions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("predicted_seconds", sa.Float, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("ahead", sa.Integer, nullable=False),
        sa.Column("servers", sa.Integer, nullable=False),
        sa.Column("actual_seconds", sa.Float, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_acd_predictions"),
    )
    op.create_index("ix_acd_predictions_entry_id", "acd_predictions", ["entry_id"])
    op.create_index("ix_acd_predictions_queue", "acd_predictions", ["queue"])


def downgrade() -> None:
    for table in ("acd_predictions", "acd_contacts", "acd_queue_live", "acd_waiting", "acd_agent_commands",
                  "acd_agents", "acd_queues"):
        op.drop_table(table)
