"""Fakes for callbacks tests and the benchmark: an ACD whose agents are free at once (or never),
an opt-out registry, schedules, and a service built on a database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn

from callbacks.policy import QueuePolicy
from callbacks.service import CallbackService, PolicyBook, QueueSettings
from callbacks.store import CallbackStore
from ivr.acd.types import AgentAssignment, CallbackEntry, UnknownQueue
from ivr.channel import Channel, ConnectResult
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import QueueOutcome, QueueOutcomeKind, QueueRequest
from ivr.settings import CallbackSettings


@dataclass
class InstantAcd:
    """Every callback gets agent ``a1`` at once (``free`` cleared: nobody comes until it is set)."""

    endpoint: str = "PJSIP/agent1"
    free: asyncio.Event = field(default_factory=asyncio.Event)
    entries: list[CallbackEntry] = field(default_factory=list)
    finished: list[tuple[AgentAssignment, ConnectResult]] = field(default_factory=list)
    queued: list[QueueRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free.set()

    async def wait_for_agent(self, entry: CallbackEntry, timeout: float) -> AgentAssignment | None:
        self.entries.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await self.free.wait()
        except TimeoutError:
            return None
        return AgentAssignment(entry_id=f"callback:{entry.callback_id}", agent_id="a1", endpoint=self.endpoint,
                               queue=entry.queue, offered_at=datetime.now(UTC), arrival_time=entry.arrival_time)

    async def finish_assignment(self, assignment: AgentAssignment, result: ConnectResult) -> None:
        self.finished.append((assignment, result))

    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome:
        self.queued.append(request)
        return QueueOutcome(QueueOutcomeKind.CONNECTED, waited_seconds=1.0, agent_id="a1")

    def queue_names(self) -> list[str]:
        return ["support", "billing", "general"]

    def queue_config(self, name: str) -> NoReturn:
        raise UnknownQueue(name)  # no queue settings: the policies given to make_callbacks, else the defaults


@dataclass
class FakeOptOuts:
    numbers: set[str] = field(default_factory=set)

    async def is_opted_out(self, number: str) -> bool:
        return number in self.numbers


def make_callbacks(db: Database, *, policies: dict[str, QueuePolicy] | None = None, acd: QueueSettings | None = None,
                   optouts: FakeOptOuts | None = None, settings: CallbackSettings | None = None,
                   bus: EventBus | None = None) -> CallbackService:
    return CallbackService(CallbackStore(db), bus or EventBus(), settings or CallbackSettings(),
                           policies=PolicyBook(acd, overrides=policies), optouts=optouts)
