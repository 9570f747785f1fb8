"""acd: what each EWT announcement said (its band), whether it was spoken, and the model's estimate
before the learnt correction (replayed at start to warm the correction up)

Revision ID: acd_0003_ewt
Revises: acd_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "acd_0003_ewt"
down_revision = "acd_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acd_predictions") as batch:
        batch.add_column(sa.Column("announced", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("band", sa.String(32), nullable=True))
        batch.add_column(sa.Column("band_low_seconds", sa.Float, nullable=True))
        batch.add_column(sa.Column("band_high_seconds", sa.Float, nullable=True))  # NULL with a band: open-ended
        batch.add_column(sa.Column("model_seconds", sa.Float, nullable=True))
    op.create_index("ix_acd_predictions_at", "acd_predictions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_acd_predictions_at", table_name="acd_predictions")
    with op.batch_alter_table("acd_predictions") as batch:
        for column in ("model_seconds", "band_high_seconds", "band_low_seconds", "band", "announced"):
            batch.drop_column(column)
