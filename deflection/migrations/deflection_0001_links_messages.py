"""deflection: links, consents, messages, opt-outs, cases, ratings

Revision ID: deflection_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from ivr.db.base import UtcDateTime

revision = "deflection_0001"
down_revision = None
branch_labels = ("deflection",)
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "deflection_links",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("consent_id", sa.Integer, nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        _ts("created_at", False),
        _ts("expires_at", False),
        *(_ts(f"{s}_at") for s in ("offered", "accepted", "sent", "delivered", "opened", "continued", "case",
                                    "rated", "failed")),
        sa.Column("callback_id", sa.String(64), nullable=True),
        _ts("callback_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_deflection_links_token_hash")),
        sa.UniqueConstraint("reference", name=op.f("uq_deflection_links_reference")),
    )
    op.create_index(op.f("ix_deflection_links_number"), "deflection_links", ["number"])
    op.create_index(op.f("ix_deflection_links_call_id"), "deflection_links", ["call_id"])
    op.create_index(op.f("ix_deflection_links_created_at"), "deflection_links", ["created_at"])

    op.create_table(
        "deflection_consents",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        _ts("at", False),
        sa.Column("prompt_id", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_consents")),
    )
    op.create_index(op.f("ix_deflection_consents_number"), "deflection_consents", ["number"])
    op.create_index(op.f("ix_deflection_consents_call_id"), "deflection_consents", ["call_id"])

    op.create_table(
        "deflection_messages",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("link_id", sa.String(32), nullable=True),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("template", sa.JSON, nullable=True),
        sa.Column("provider_message_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        _ts("not_before"),
        _ts("created_at", False),
        _ts("updated_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_messages")),
    )
    op.create_index(op.f("ix_deflection_messages_number"), "deflection_messages", ["number"])
    op.create_index(op.f("ix_deflection_messages_link_id"), "deflection_messages", ["link_id"])
    op.create_index(op.f("ix_deflection_messages_provider_message_id"), "deflection_messages",
                    ["provider_message_id"])
    op.create_index(op.f("ix_deflection_messages_created_at"), "deflection_messages", ["created_at"])

    op.create_table(
        "deflection_optouts",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        _ts("at", False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_deflection_optouts")),
    )

    op.create_table(
        "deflection_cases",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("link_id", sa.String(32), nullable=False),
        sa.Column("submission", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at", False),
        _ts("respond_by", False),
        sa.Column("target_hours", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_cases")),
        sa.UniqueConstraint("link_id", "submission", name="uq_deflection_cases_link_submission"),
    )
    op.create_index(op.f("ix_deflection_cases_link_id"), "deflection_cases", ["link_id"])
    op.create_index(op.f("ix_deflection_cases_number"), "deflection_cases", ["number"])
    op.create_index(op.f("ix_deflection_cases_created_at"), "deflection_cases", ["created_at"])

    op.create_table(
        "deflection_ratings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("link_id", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        _ts("at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflection_ratings")),
        sa.UniqueConstraint("link_id", name=op.f("uq_deflection_ratings_link_id")),
    )
    op.create_index(op.f("ix_deflection_ratings_number"), "deflection_ratings", ["number"])


def downgrade() -> None:
    for table in ("deflection_ratings", "deflection_cases", "deflection_optouts", "deflection_messages",
                  "deflection_consents", "deflection_links"):
        op.drop_table(table)
