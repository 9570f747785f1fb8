"""The rendezvous between a dispatcher dialling a callback and the call script that runs on the
answered leg (in this process: through FastAGI on Asterisk, or on the built-in endpoint's channel)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from callbacks.models import AttemptOutcome
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.values import Callback
from ivr.acd.types import AgentAssignment
from ivr.channel import ConnectResult
from ivr.ports import Disposition

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How the answered call went."""

    outcome: AttemptOutcome  # the customer's side
    agent_leg: ConnectResult | None = None  # for acd.finish_assignment (None: already released)
    detail: str | None = None
    counted: bool = True  # False when the customer was never dialled (the agent left first)
    disposition: Disposition = Disposition.FAILED  # how the call is recorded in the call store


@dataclass(slots=True)
class CallbackCall:
    """One answered attempt in progress, as the call script needs it."""

    callback: Callback
    attempt: int
    mode: CallbackMode
    policy: QueuePolicy
    customer_target: str  # what the agent's channel dials (agent-first)
    caller_id: str
    assignment: AgentAssignment | None
    done: asyncio.Future[CallOutcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    picked_up: asyncio.Event = field(default_factory=asyncio.Event)  # the call script started on it

    def resolve(self, outcome: CallOutcome) -> None:
        if not self.done.done():
            self.done.set_result(outcome)


class SessionRegistry:
    """Callbacks being dialled by this process, by id (what ``GET VARIABLE CALLBACK_ID`` names)."""

    def __init__(self) -> None:
        self._calls: dict[str, CallbackCall] = {}

    def open(self, call: CallbackCall) -> None:
        self._calls[call.callback.id] = call

    def get(self, callback_id: str) -> CallbackCall | None:
        return self._calls.get(callback_id)

    def close(self, callback_id: str) -> None:
        self._calls.pop(callback_id, None)

    def __len__(self) -> int:
        return len(self._calls)
