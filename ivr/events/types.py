"""Event types. Each is a frozen dataclass with a ``kind`` (the MQTT topic suffix).

Topic scheme: ``puente/<site>/<kind>`` where kind is e.g. ``call/started``, ``queue/joined``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    at: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif hasattr(value, "value"):
                value = value.value
            out[f.name] = value
        return out


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    kind: ClassVar[str] = "call/started"
    call_id: str
    dialled: str
    backend: str
    flow: str


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    kind: ClassVar[str] = "call/ended"
    call_id: str
    disposition: str
    duration_seconds: float


@dataclass(frozen=True, kw_only=True)
class CallsLostOnRestart(Event):
    """Calls a dead process left open, closed by ivr.nodes (``owner``: the dead process)."""

    kind: ClassVar[str] = "calls/lost_on_restart"
    owner: str
    count: int
    died_at: datetime


@dataclass(frozen=True, kw_only=True)
class NodeEntered(Event):
    kind: ClassVar[str] = "call/node"
    call_id: str
    flow: str
    node: str
    node_kind: str


@dataclass(frozen=True, kw_only=True)
class InputReceived(Event):
    kind: ClassVar[str] = "call/input"
    call_id: str
    node: str
    mode: str
    matched: bool
    confidence: float | None = None


@dataclass(frozen=True, kw_only=True)
class QueueJoined(Event):
    kind: ClassVar[str] = "queue/joined"
    call_id: str
    queue: str
    position: int
    ewt_seconds: float | None


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class AgentStateChanged(Event):
    kind: ClassVar[str] = "agent/state"
    agent_id: str
    state: str
    previous: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class AgentConnected(Event):
    kind: ClassVar[str] = "agent/connected"
    agent_id: str
    call_id: str
    queue: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AgentOffered(Event):
    """The ACD is ringing an agent for a queued caller: the screen pop can show up while it rings
    (AgentConnected follows when the call was answered, once the bridge is over)."""

    kind: ClassVar[str] = "agent/offered"
    agent_id: str
    call_id: str
    queue: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CallbackLifecycle(Event):
    kind: ClassVar[str] = "callback/state"
    callback_id: str
    queue: str
    state: str
    outcome: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeflectionLifecycle(Event):
    kind: ClassVar[str] = "deflection/stage"
    link_id: str
    stage: str  # offered / accepted / sent / delivered / opened / continued / case / rating
    channel: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProtocolError(Event):
    kind: ClassVar[str] = "error/protocol"
    protocol: str  # agi / sip / ami / audiosocket
    detail: str
