"""calls.legs: how many nodes carried the call (a caller the dialplan sent on from a dead node to
the next one is one call with two legs, not two records)

Revision ID: calls_0003
Revises: calls_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "calls_0003"
down_revision = "calls_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("legs", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("legs")
