"""``nodes``: one row per process incarnation that has run ``ivr serve`` (its heartbeat)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime


class NodeRow(Base):
    __tablename__ = "nodes"

    # "<node>:<incarnation>": what owns calls (calls.owner); a restarted process is a new owner
    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    node: Mapped[str] = mapped_column(String(64), nullable=False, index=True)  # settings.node.id
    host: Mapped[str] = mapped_column(String(128), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # a clean stop
    reconciled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # its leftovers closed
