from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime, utcnow


class FlowVersionRow(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_name", "version", name="uq_flow_versions_flow_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)  # the YAML text, as edited
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # draft / published / retired
    comment: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
