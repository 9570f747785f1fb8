"""Hold, resume and transfer of a caller bridged to an agent: what the desk may do to a live call.

The hold loop opens a :class:`LiveBridge` for each agent it connects; the channel attaches the
backend's :class:`BridgeOps` when the agent answers (``attach``), and ``CallControls`` finds the
bridge of a call or of an agent for the desk API. The caller stays with Puente throughout:

- hold: the agent leg is parked (Asterisk: AMI ``Redirect`` of the agent's channel into
  ``[puente-agent-hold]``, after which the caller's ``Dial`` returns and the caller's own AGI plays
  music; built-in SIP: the relay stops and the caller's leg gets music), resume bridges them again
  (Asterisk: the caller's AGI runs ``Bridge(<agent channel>,x)``; SIP: the relay again);
- transfer to a queue or to a named agent: the agent leg is released (AMI ``Hangup`` of the agent's
  channel; SIP ``BYE``), the connect returns, and the hold loop puts the caller in the target queue
  (or in line for that agent alone, who is rung at once at their endpoint) with the call's context
  (its earlier wait, inputs and language) as one call, not a new one.

Where a backend cannot do an action, ``ops`` says why (``unavailable``), and the desk shows it.
The registry is per process: a desk request must reach the node whose hold loop carries the call.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class ControlAction(enum.StrEnum):
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"


class ControlUnavailable(Exception):
    """This call cannot do that now (not answered yet, backend without the means): say why."""


class ControlFailed(Exception):
    """The telephony side refused or did not answer (e.g. AMI down): say what happened."""


class BridgeOps(Protocol):
    """The backend's side of one bridge (set by the channel once the agent answered)."""

    backend: str

    def unavailable(self, action: ControlAction) -> str | None:
        """Why ``action`` is impossible on this bridge (None: possible)."""
        ...

    async def hold(self) -> None: ...

    async def resume(self) -> None: ...

    async def release(self) -> None:
        """End the agent's leg only; the caller stays with Puente (for a transfer)."""
        ...


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """Where the caller goes: ``queue``, offered only to ``agent_id`` when one is named (if that
    agent misses it, to the queue like any caller)."""

    queue: str
    by: str  # who asked (username), for the call's events
    agent_id: str | None = None

    def describe(self) -> str:
        return f"agent {self.agent_id}" if self.agent_id else self.queue


@dataclass(eq=False)
class LiveBridge:
    call_id: str
    agent_id: str
    queue: str
    started_at: datetime
    ops: BridgeOps | None = None
    held: bool = False
    held_since: datetime | None = None
    transfer: TransferTarget | None = None
    # Set whenever hold/resume/transfer changes the bridge: the backend's loop wakes on it.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, ops: BridgeOps) -> None:
        self.ops = ops

    def why_not(self, action: ControlAction) -> str | None:
        if self.ops is None:
            return "the agent has not answered yet"
        if self.transfer is not None:
            return f"the call is being transferred to {self.transfer.describe()}"
        if action is ControlAction.HOLD and self.held:
            return "the caller is already on hold"
        if action is ControlAction.RESUME and not self.held:
            return "the caller is not on hold"
        return self.ops.unavailable(action)

    def to_dict(self) -> dict[str, object]:
        return {
            "call_id": self.call_id, "agent_id": self.agent_id, "queue": self.queue,
            "backend": self.ops.backend if self.ops is not None else None,
            "held": self.held, "held_since": self.held_since.isoformat() if self.held_since else None,
            "transferring_to": self.transfer.describe() if self.transfer else None,
            "unavailable": {a.value: self.why_not(a) for a in ControlAction},
        }


class CallControls:
    """The live bridges of this process, by call id."""

    def __init__(self) -> None:
        self._bridges: dict[str, LiveBridge] = {}

    def open(self, call_id: str, agent_id: str, queue: str, at: datetime) -> LiveBridge:
        bridge = LiveBridge(call_id=call_id, agent_id=agent_id, queue=queue, started_at=at)
        self._bridges[call_id] = bridge
        return bridge

    def close(self, bridge: LiveBridge) -> None:
        if self._bridges.get(bridge.call_id) is bridge:
            del self._bridges[bridge.call_id]

    def get(self, call_id: str) -> LiveBridge | None:
        return self._bridges.get(call_id)

    def for_agent(self, agent_id: str) -> LiveBridge | None:
        return next((b for b in self._bridges.values() if b.agent_id == agent_id), None)

    async def hold(self, bridge: LiveBridge, at: datetime) -> None:
        ops = self._ops(bridge, ControlAction.HOLD)
        bridge.held, bridge.held_since = True, at
        try:
            await ops.hold()
        except Exception:
            bridge.held, bridge.held_since = False, None
            raise
        bridge.changed.set()

    async def resume(self, bridge: LiveBridge) -> None:
        ops = self._ops(bridge, ControlAction.RESUME)
        bridge.held, bridge.held_since = False, None
        bridge.changed.set()
        await ops.resume()

    async def transfer(self, bridge: LiveBridge, target: TransferTarget) -> None:
        ops = self._ops(bridge, ControlAction.TRANSFER)
        bridge.transfer = target
        try:
            await ops.release()
        except Exception:
            bridge.transfer = None
            raise
        bridge.changed.set()

    @staticmethod
    def _ops(bridge: LiveBridge, action: ControlAction) -> BridgeOps:
        why = bridge.why_not(action)
        if why is not None:
            raise ControlUnavailable(why)
        assert bridge.ops is not None
        return bridge.ops
