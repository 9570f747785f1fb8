"""Tables: ``callbacks`` (one row per callback, its state and lease) and ``callback_attempts``."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime


class CallbackState(enum.StrEnum):
    PENDING = "pending"  # requested, never tried
    SCHEDULED = "scheduled"  # tried (or deferred by policy), due again at due_at
    DIALING = "dialing"  # an attempt is in progress
    COMPLETED = "completed"
    FAILED = "failed"  # attempts exhausted
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # A dispatcher died mid-attempt and nobody can tell whether the call left or was answered: a
    # person decides (reschedule to dial again, or cancel) rather than risk calling the customer twice.
    NEEDS_REVIEW = "needs_review"


ACTIVE_STATES = frozenset({CallbackState.PENDING, CallbackState.SCHEDULED, CallbackState.DIALING,
                           CallbackState.NEEDS_REVIEW})
FINAL_STATES = frozenset({CallbackState.COMPLETED, CallbackState.FAILED, CallbackState.CANCELLED,
                          CallbackState.EXPIRED})


class AttemptOutcome(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    REFUSED = "refused"  # policy refused at dial time (opted out)
    UNKNOWN = "unknown"  # taken over from a dead dispatcher; the call's fate could not be found out


class CallbackRow(Base):
    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_state_due_at", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # "number|queue" while active, NULL once final: a unique index keeps one active per pair.
    active_key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    arrival_time: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    waited_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    merged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The zone the customer chose (the landing page): quiet hours are judged in it when it is one of
    # the number's zones. NULL: the country's main zone (see ivr.contact.zones).
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CallbackAttemptRow(Base):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[str] = mapped_column(ForeignKey("callbacks.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str | None] = mapped_column(String(128), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dispatcher: Mapped[str] = mapped_column(String(64), nullable=False)
    counted: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # 0: the agent leg failed
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # What the origination side answered for the first leg (written as soon as it answers, before
    # the call script runs): a dispatcher that takes the attempt over reads it instead of guessing.
    leg_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    leg_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(128), nullable=True)  # Asterisk Uniqueid / SIP Call-ID
