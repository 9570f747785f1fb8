"""deflection: message templates edited by admins

Revision ID: deflection_0002
Revises: deflection_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "deflection_0002"
down_revision = "deflection_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deflection_templates",
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("language", "key", name="pk_deflection_templates"),
    )


def downgrade() -> None:
    op.drop_table("deflection_templates")
