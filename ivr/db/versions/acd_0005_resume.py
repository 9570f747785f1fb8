"""acd: a dead node's callers keep their place (orphaned line entries, kept for a grace period)
and each contact's priority (the shared EWT learns arrivals per priority from the contacts)

Revision ID: acd_0005_resume
Revises: acd_0004_line
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "acd_0005_resume"
down_revision = "acd_0004_line"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acd_line_orphans",
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("arrival", UtcDateTime, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("orphaned_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_acd_line_orphans")),
    )
    op.create_index(op.f("ix_acd_line_orphans_orphaned_at"), "acd_line_orphans", ["orphaned_at"])
    op.create_index(op.f("ix_acd_line_entries_call_id"), "acd_line_entries", ["call_id"])
    with op.batch_alter_table("acd_contacts") as batch:
        batch.add_column(sa.Column("priority", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("acd_contacts") as batch:
        batch.drop_column("priority")
    op.drop_index(op.f("ix_acd_line_entries_call_id"), table_name="acd_line_entries")
    op.drop_index(op.f("ix_acd_line_orphans_orphaned_at"), table_name="acd_line_orphans")
    op.drop_table("acd_line_orphans")
