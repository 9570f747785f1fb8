"""Deflection tables: links, consents, messages (outbox + provider + inbound), opt-outs, cases, ratings.

Tokens are stored only as their SHA-256 (a database leak reveals no live link). Call ids are stored
as plain strings: the calls table belongs to another migration branch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime, utcnow


class LinkRow(Base):
    __tablename__ = "deflection_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    reference: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)  # deflection / rating
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    consent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # One timestamp per stage reached (stats count them).
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    continued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    case_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    callback_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ConsentRow(Base):
    __tablename__ = "deflection_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)  # None: standing
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    prompt_id: Mapped[str] = mapped_column(String(128), nullable=False)
    prompt_version: Mapped[str] = mapped_column(String(32), nullable=False)


class MessageRow(Base):
    __tablename__ = "deflection_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)  # out / in
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    link_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # deferred sends
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class OptOutRow(Base):
    __tablename__ = "deflection_optouts"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CaseRow(Base):
    __tablename__ = "deflection_cases"
    __table_args__ = (UniqueConstraint("link_id", "submission", name="uq_deflection_cases_link_submission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    submission: Mapped[str] = mapped_column(String(64), nullable=False)
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    respond_by: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    target_hours: Mapped[float] = mapped_column(Float, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CaseReplyRow(Base):
    """A reply staff wrote to a case; what was sent (or deferred) is its message row."""

    __tablename__ = "deflection_case_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RatingRow(Base):
    __tablename__ = "deflection_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)  # one rating per link
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class TemplateRow(Base):
    __tablename__ = "deflection_templates"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
