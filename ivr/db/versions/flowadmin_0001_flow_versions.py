"""flow versions

Revision ID: flowadmin_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "flowadmin_0001"
down_revision = None
branch_labels = ("flowadmin",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("flow_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("published_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_flow_versions"),
        sa.UniqueConstraint("flow_name", "version", name="uq_flow_versions_flow_name_version"),
    )
    op.create_index("ix_flow_versions_flow_name", "flow_versions", ["flow_name"])


def downgrade() -> None:
    op.drop_table("flow_versions")
