"""ACD tables. Live state (agents, waiting entries) is persisted by the running server so that other
processes (the CLI, a second API worker) can read it; history (contacts, predictions) feeds the
service-level, abandon-rate, ASA and EWT-error figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UtcDateTime


class QueueRow(Base):
    __tablename__ = "acd_queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # "file": seeded from dialplan/queues.yaml at every start; "api": edited by an admin, kept
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AgentRow(Base):
    __tablename__ = "acd_agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(255), nullable=False)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    state_reason: Mapped[str] = mapped_column(String(16), nullable=False)
    state_since: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AgentCommandRow(Base):
    """A state change asked for by another process; the server applies it (then it is history)."""

    __tablename__ = "acd_agent_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class WaitingRow(Base):
    __tablename__ = "acd_waiting"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    arrival: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    ewt_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class QueueLiveRow(Base):
    __tablename__ = "acd_queue_live"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    staffed: Mapped[int] = mapped_column(Integer, nullable=False)
    ewt_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # for a caller joining now
    mean_handle_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    abandon_rate: Mapped[float | None] = mapped_column(Float, nullable=True)  # theta, per second
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ContactRow(Base):
    """One queue stay, written when it is over (for CONNECTED: when the agent's contact ends)."""

    __tablename__ = "acd_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(64), nullable=False)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    queue: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    arrival: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    left_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    waited_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    position_at_join: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position_at_exit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    handle_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)  # in line (acd_0005); NULL: older rows


class PredictionRow(Base):
    """Every EWT we computed for a caller, and (once they left) the wait that followed."""

    __tablename__ = "acd_predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    queue: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    predicted_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    ahead: Mapped[int] = mapped_column(Integer, nullable=False)
    servers: Mapped[int] = mapped_column(Integer, nullable=False)
    actual_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # what the caller heard (acd_0003_ewt): the band and its bounds (high NULL: "more than ...")
    announced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    band: Mapped[str | None] = mapped_column(String(32), nullable=True)
    band_low_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    band_high_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # before the learnt correction


class LineQueueRow(Base):
    """The shared line's queues (skills required), written by every node at start."""

    __tablename__ = "acd_line_queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)


class LineAgentRow(Base):
    """An agent's routing state in the shared line (PostgreSQL, several nodes): the offer/contact
    it holds, the node that carries it (``offer_owner``) and until when that node vouches for it."""

    __tablename__ = "acd_line_agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255), nullable=False)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    since: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    contact: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pending_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pending_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    offer_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LineEntryRow(Base):
    """One entry in the shared line, owned by the node whose hold loop or callback waits on it."""

    __tablename__ = "acd_line_entries"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    arrival: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)  # join order, global
    owner: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # offered to
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class LineOrphanRow(Base):
    """A dead node's caller, out of line but keeping their place for a grace period: when the
    dialplan sends the same call (``PUENTE_CALL_ID``) to another node, it rejoins with this arrival
    and priority (acd_0005)."""

    __tablename__ = "acd_line_orphans"

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), nullable=False)
    queue: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    arrival: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    owner: Mapped[str] = mapped_column(String(128), nullable=False)
    orphaned_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
