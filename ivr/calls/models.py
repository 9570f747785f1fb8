"""Call records: one row per call, plus its timeline of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime


class CallRow(Base):
    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_owner_open", "owner", "ended_at"),)

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    linked_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    caller: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    dialled: Mapped[str] = mapped_column(String(64), nullable=False)
    backend: Mapped[str] = mapped_column(String(16), nullable=False)
    flow: Mapped[str] = mapped_column(String(64), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    waited_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The process carrying the call (ivr.nodes: "<node>:<incarnation>"): a call left open by a
    # process that died is closed by whoever sees that process dead, never another live one's.
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Nodes that carried the call (calls_0003): a dead node's caller sent on by the dialplan to
    # another node is the same call (same id), resumed there: a second leg, a "resumed" event.
    legs: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")


class CallEventRow(Base):
    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_call_id_seq", "call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(128), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    node: Mapped[str | None] = mapped_column(String(128), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
