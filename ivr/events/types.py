"""Event types. Each is a frozen dataclass with a ``kind`` (the MQTT topic suffix).

A call's facts travel once, typed: the flow engine and the hold loop publish them and the call
recorder (:class:`ivr.calls.store.CallStore`) subscribes to write the caller's timeline from them.
The flow's own facts are in :mod:`ivr.events.flow`.

Fields whose metadata is :data:`OFF_WIRE` are timeline detail (what the caller keyed or said, order numbers):
they stay in the process and never reach MQTT. Events whose ``broadcast`` is False are not
published to MQTT at all (the flow's many small facts; the timeline and the metrics take them).

Topic scheme: ``puente/<site>/<kind>`` where kind is e.g. ``call/started``, ``queue/joined``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

# The fact's time, taken by a C-level callable: events are built on every step of every call
# (bench/flow_engine.py counts them), so no Python frame per timestamp.
_now = partial(datetime.now, UTC)


_LOCAL = "local"
OFF_WIRE = {_LOCAL: True}  # a field's metadata: kept off the wire (see the module's docstring)


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    kind: ClassVar[str] = "event"
    broadcast: ClassVar[bool] = True  # False: never published to MQTT
    at: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            if f.metadata.get(_LOCAL):
                continue
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif hasattr(value, "value"):
                value = value.value
            out[f.name] = value
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class CallStarted(Event):
    kind: ClassVar[str] = "call/started"
    call_id: str
    dialled: str
    backend: str
    flow: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CallEnded(Event):
    kind: ClassVar[str] = "call/ended"
    call_id: str
    disposition: str
    duration_seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class CallsLostOnRestart(Event):
    """Calls a dead process left open, closed by ivr.nodes (``owner``: the dead process)."""

    kind: ClassVar[str] = "calls/lost_on_restart"
    owner: str
    count: int
    died_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeEntered(Event):
    """The flow entered a node. A later leg's ``resume`` step also says where the caller went back
    to (``place``: in_line / kept / lost / menu) and, when they had queued, the queue."""

    kind: ClassVar[str] = "call/node"
    call_id: str
    flow: str
    node: str
    node_kind: str
    queue: str | None = field(default=None, metadata=OFF_WIRE)
    arrival: datetime | None = field(default=None, metadata=OFF_WIRE)
    priority: int | None = field(default=None, metadata=OFF_WIRE)
    place: str | None = field(default=None, metadata=OFF_WIRE)


@dataclass(frozen=True, kw_only=True, slots=True)
class InputReceived(Event):
    """The caller keyed or said something (see :class:`NoInput`, :class:`NoMatch` for the misses:
    they travel as this event too, so the metrics count every try once)."""

    kind: ClassVar[str] = "call/input"
    call_id: str
    node: str
    mode: str
    matched: bool = True
    confidence: float | None = None
    digits: str | None = field(default=None, metadata=OFF_WIRE)
    transcript: str | None = field(default=None, metadata=OFF_WIRE)
    key: str | None = field(default=None, metadata=OFF_WIRE)
    engine: str | None = field(default=None, metadata=OFF_WIRE)


@dataclass(frozen=True, kw_only=True, slots=True)
class NoInput(InputReceived):
    """The caller gave no input before the timeout."""

    mode: str = "none"
    matched: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class NoMatch(InputReceived):
    """The input was not one the node accepts. ``digits``/``transcript`` None: not recorded (the
    yes/no question keeps only the miss)."""

    mode: str = "dtmf"  # as the metrics counted it before (the miss's own mode was never recorded)
    matched: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueJoined(Event):
    kind: ClassVar[str] = "queue/joined"
    call_id: str
    queue: str
    position: int
    ewt_seconds: float | None
    credit_seconds: float = 0.0  # a returning caller's earlier wait, counted in their place
    priority: int = 0  # as the flow asked (the queue's own priority is added in line)
    transfer: QueueTransfer | None = None  # set when the desk moved the caller here


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueTransfer:
    """Who moved a caller from an agent into a queue (or towards a named agent), from the desk."""

    from_queue: str
    from_agent: str
    by: str
    to_agent: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueLeft(Event):
    kind: ClassVar[str] = "queue/left"
    call_id: str
    queue: str
    outcome: str  # connected / abandoned / overflow / callback / deflected
    waited_seconds: float
    position: int | None = None
    ewt_predicted: float | None = None
    within_service_level: bool | None = None
    # the first wait the caller heard (seconds) and its band (high None: "more than ..."), judged
    # against the wait from that announcement on
    ewt_announced: float | None = None
    ewt_band_low: float | None = None
    ewt_band_high: float | None = None
    waited_after_announcement: float | None = None
    credit_seconds: float = 0.0  # the caller's total wait is waited_seconds + credit_seconds
    agent_id: str | None = None  # connected: who answered
    talk_seconds: float | None = None  # connected: how long the bridge lasted


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueAnnounced(Event):
    """The caller heard their place and wait (and which keys they may press)."""

    kind: ClassVar[str] = "queue/announced"
    call_id: str
    queue: str
    position: int | None
    ewt_seconds: float | None
    band: str | None = None
    method: str | None = None
    keys: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueUnstaffed(Event):
    """Nobody staffs the queue: before joining (``joined`` False: the caller never waited, no
    QueueLeft follows) or while waiting (the overflow follows)."""

    kind: ClassVar[str] = "queue/unstaffed"
    call_id: str
    queue: str
    joined: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueOverflowed(Event):
    """The queue's overflow applies to a waiting caller (max wait, or nobody staffs it); ``target``
    names the queue they were moved to, when it was one (their place and wait go with them)."""

    kind: ClassVar[str] = "queue/overflow"
    call_id: str
    queue: str
    overflow: str
    target: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentStateChanged(Event):
    kind: ClassVar[str] = "agent/state"
    agent_id: str
    state: str
    previous: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentConnected(Event):
    kind: ClassVar[str] = "agent/connected"
    agent_id: str
    call_id: str
    queue: str
    context: dict[str, Any] = field(default_factory=dict)
    waited_seconds: float | None = None  # this call's time in line
    ring_seconds: float | None = None  # from the offer to the answer


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentOffered(Event):
    """The ACD is ringing an agent for a queued caller: the screen pop can show up while it rings
    (AgentConnected follows the moment the agent answers, AgentMissed when they do not)."""

    kind: ClassVar[str] = "agent/offered"
    agent_id: str
    call_id: str
    queue: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentMissed(Event):
    """The offered agent did not take the call (``result``: the dial status); the caller waits on."""

    kind: ClassVar[str] = "agent/missed"
    agent_id: str
    call_id: str
    queue: str
    result: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackLifecycle(Event):
    kind: ClassVar[str] = "callback/state"
    callback_id: str
    queue: str
    state: str
    outcome: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeflectionLifecycle(Event):
    kind: ClassVar[str] = "deflection/stage"
    link_id: str
    stage: str  # offered / accepted / sent / delivered / opened / continued / case / rating
    channel: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ProtocolError(Event):
    kind: ClassVar[str] = "error/protocol"
    protocol: str  # agi / sip / ami / audiosocket
    detail: str
