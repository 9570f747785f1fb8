"""Schedule tables: live overrides (the weekly rules live in dialplan/schedules.yaml)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime


class ScheduleOverrideRow(Base):
    __tablename__ = "schedule_overrides"

    schedule: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # open / closed
    until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ScheduleVersionRow(Base):
    """A published schedules document (the whole ``schedules.yaml``); the highest version is live."""

    __tablename__ = "schedule_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(String(255), nullable=True)
