"""acd: where a queue's configuration comes from (the file, or an admin's edit that outlives it)

Revision ID: acd_0002
Revises: acd_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "acd_0002"
down_revision = "acd_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acd_queues") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="file"))


def downgrade() -> None:
    with op.batch_alter_table("acd_queues") as batch:
        batch.drop_column("source")
