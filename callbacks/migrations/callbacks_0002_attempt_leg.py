"""callback attempts: the first leg's answer, recorded before the call script runs

Revision ID: callbacks_0002
Revises: callbacks_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "callbacks_0002"
down_revision = "callbacks_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_attempts") as batch:
        batch.add_column(sa.Column("leg_outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("leg_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("channel", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callback_attempts") as batch:
        batch.drop_column("channel")
        batch.drop_column("leg_at")
        batch.drop_column("leg_outcome")
