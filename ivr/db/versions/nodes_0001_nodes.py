"""nodes: process heartbeats, for closing what a dead process left open

Revision ID: nodes_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "nodes_0001"
down_revision = None
branch_labels = ("nodes",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("stopped_at", UtcDateTime, nullable=True),
        sa.Column("reconciled_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_nodes")),
    )
    op.create_index(op.f("ix_nodes_node"), "nodes", ["node"])


def downgrade() -> None:
    op.drop_index(op.f("ix_nodes_node"), table_name="nodes")
    op.drop_table("nodes")
