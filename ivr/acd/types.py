"""Values the ACD shares with other domains (callbacks, the admin API, the agent desk)."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import datetime


class AgentState(enum.StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    RINGING = "ringing"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    AWAY = "away"


class StateReason(enum.StrEnum):
    """Why an agent is in its state: decides what a later device event may undo."""

    ADMIN = "admin"  # CLI / API / config
    DEVICE = "device"  # AMI device state
    OFFER = "offer"  # Puente rang the agent
    NO_ANSWER = "no_answer"  # the agent let a routed contact ring out
    UNREACHABLE = "unreachable"  # dialling the agent failed at once (CHANUNAVAIL)
    CONTACT = "contact"  # Puente's contact answered / ended
    WRAP_UP_DONE = "wrap_up_done"


class EntryKind(enum.StrEnum):
    CALL = "call"  # a caller holding in the hold loop
    CALLBACK = "callback"  # a virtual entry: a callback keeping its caller's place


@dataclass(frozen=True, slots=True)
class CallbackEntry:
    """A callback waiting for an agent, in line at its caller's original arrival time."""

    callback_id: str
    queue: str
    arrival_time: datetime
    priority: int = 0


@dataclass(frozen=True, slots=True)
class AgentAssignment:
    """An agent reserved (ringing state) for one queue entry until the contact is finished."""

    entry_id: str
    agent_id: str
    endpoint: str
    queue: str
    offered_at: datetime
    arrival_time: datetime


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    name: str
    endpoint: str
    skills: dict[str, int]
    state: AgentState
    state_since: datetime
    reason: StateReason


class AcdError(Exception):
    """Base of the ACD's errors."""


class UnknownQueue(AcdError):
    pass


class UnknownAgent(AcdError):
    pass


class InvalidTransition(AcdError):
    """The requested agent state change is not allowed now (e.g. ringing/busy are Puente's)."""


@dataclass(slots=True)
class Waiter:
    """One entry in line, as its owner (a hold loop or a callback) sees it."""

    entry_id: str
    queue: str
    kind: EntryKind
    call_id: str | None
    arrival: datetime
    joined_at: datetime
    position_at_join: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    assignment: AgentAssignment | None = None
    last_ewt: float | None = None
    model_at_join: tuple[int, int, float] | None = None  # (ahead, agents, model estimate) first given
    priority: int = 0  # in line (the queue's own included)
