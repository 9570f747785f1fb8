"""In-memory fakes of the ports the flow engine (and the hold loop) use, for unit tests.

Each implements the protocol from ``ivr.ports`` (or the engine's schedule protocol), records what it
was asked, and is configured by plain attributes. Reuse them; keep them general.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ivr.calls.timeline import FactRow, fact_row
from ivr.channel import CallInfo, Channel
from ivr.events.types import Event
from ivr.flows.lookup import LookupFailed
from ivr.ports import (
    CallbackRefused,
    CallbackRequest,
    CallbackTicket,
    CallEventKind,
    DeflectionRefused,
    DeflectionRequest,
    Disposition,
    LinkTicket,
    MessageChannel,
    QueueOutcome,
    QueueOutcomeKind,
    QueueRequest,
    RecentContact,
    Services,
)
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.schedules.model import ScheduleState, ScheduleStatus


@dataclass
class FakeRecorder:
    """The recorder and the bus in one: ``facts`` is what was published, typed; ``events`` the rows
    the call recorder would write from them (made when asked: the engine's benchmark measures the
    engine, not this fake)."""

    started: list[tuple[CallInfo, str, str]] = field(default_factory=list)
    facts: list[Event] = field(default_factory=list)
    ended: dict[str, Disposition] = field(default_factory=dict)
    fail: bool = False  # every call raises (the engine must carry on)

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        self._maybe_fail()
        self.started.append((info, flow, language))

    def publish(self, event: Event) -> None:
        self._maybe_fail()
        self.facts.append(event)

    @property
    def events(self) -> list[FactRow]:
        return [row for row in map(fact_row, self.facts) if row is not None]

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        self._maybe_fail()
        self.ended[call_id] = disposition

    def _maybe_fail(self) -> None:
        if self.fail:
            raise RuntimeError("recorder down")

    def of_kind(self, kind: CallEventKind) -> list[FactRow]:
        return [e for e in self.events if e.kind is kind]

    def nodes(self) -> list[str]:
        return [e.node for e in self.of_kind(CallEventKind.NODE_ENTERED) if e.node]


@dataclass
class FakeHistory:
    contacts: dict[str, RecentContact] = field(default_factory=dict)
    asked: list[tuple[str, float]] = field(default_factory=list)

    async def recent_unresolved(self, caller: str, *, within_minutes: float) -> RecentContact | None:
        self.asked.append((caller, within_minutes))
        return self.contacts.get(caller)


@dataclass
class FakeQueues:
    """Every queue answers ``outcomes[queue]`` (default CONNECTED). On CONNECTED it bridges the
    caller with ``channel.connect("agent/<queue>")``, like the real hold loop."""

    outcomes: dict[str, QueueOutcomeKind] = field(default_factory=dict)
    default: QueueOutcomeKind = QueueOutcomeKind.CONNECTED
    waited_seconds: float = 12.0
    requests: list[QueueRequest] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)  # queues whose wait raises RuntimeError

    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome:
        self.requests.append(request)
        if request.queue in self.fail_for:
            raise RuntimeError(f"queue {request.queue} exploded")
        kind = self.outcomes.get(request.queue, self.default)
        if kind is QueueOutcomeKind.CONNECTED:
            await channel.connect(f"agent/{request.queue}", timeout=15)
            return QueueOutcome(kind, waited_seconds=self.waited_seconds, agent_id="a1")
        return QueueOutcome(kind, waited_seconds=self.waited_seconds)

    @property
    def queues(self) -> list[str]:
        return [r.queue for r in self.requests]


@dataclass
class FakeCallbacks:
    requests: list[CallbackRequest] = field(default_factory=list)
    reached: list[tuple[str, str]] = field(default_factory=list)
    refuse: str | None = None  # a reason: every request is refused
    delay: timedelta = timedelta(minutes=5)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def request(self, req: CallbackRequest) -> CallbackTicket:
        if self.refuse:
            raise CallbackRefused(self.refuse)
        self.requests.append(req)
        when = req.not_before or datetime.now(UTC) + self.delay
        return CallbackTicket(callback_id=f"cb-{next(self._ids)}", scheduled_for=when)

    async def reached_agent(self, number: str, queue: str) -> None:
        self.reached.append((number, queue))


@dataclass
class FakeDeflection:
    channels: list[MessageChannel] = field(default_factory=lambda: [MessageChannel.WHATSAPP, MessageChannel.SMS])
    sent: list[DeflectionRequest] = field(default_factory=list)
    declines: list[tuple[str, str]] = field(default_factory=list)
    refuse: str | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def declined(self, number: str, reason: str) -> None:
        self.declines.append((number, reason))

    async def channels_for(self, number: str) -> list[MessageChannel]:
        return list(self.channels)

    async def send_link(self, req: DeflectionRequest) -> LinkTicket:
        if self.refuse:
            raise DeflectionRefused(self.refuse)
        self.sent.append(req)
        n = next(self._ids)
        chosen = req.channel or self.channels[0]
        return LinkTicket(link_id=f"l-{n}", reference=f"REF{n}", url=f"http://127.0.0.1/l/{n}", channel=chosen)


@dataclass
class FakeSchedules:
    """Schedule states by name (default OPEN); ``fail`` makes ``status`` raise."""

    states: dict[str, ScheduleState] = field(default_factory=dict)
    opens_at: datetime | None = None
    fail: bool = False

    def names(self) -> list[str]:
        return sorted(self.states) or ["support"]

    async def status(self, name: str, at: datetime | None = None) -> ScheduleStatus:
        if self.fail:
            raise RuntimeError("schedules down")
        state = self.states.get(name, ScheduleState.OPEN)
        return ScheduleStatus(state=state, reason=f"fake {state.value}", next_change=self.opens_at)

    def next_open(self, name: str, after: datetime) -> datetime | None:
        return self.opens_at or after + timedelta(hours=14)


@dataclass
class FailingOrderLookup:
    async def status(self, order: str) -> str | None:
        raise LookupFailed("lookup service down")


def fake_services(**overrides: Any) -> Services:
    """All ports faked; pass ``queues=None`` etc. to leave one out."""
    values: dict[str, Any] = {
        "recorder": FakeRecorder(),
        "queues": FakeQueues(),
        "callbacks": FakeCallbacks(),
        "deflection": FakeDeflection(),
        "history": FakeHistory(),
    }
    values.update(overrides)
    return Services(**values)


def make_catalogue(texts: dict[str, dict[str, str]], *, version: str = "1") -> PromptCatalogue:
    """A catalogue from ``{prompt_id: {lang: text}}`` (no files)."""
    entries = {
        pid: PromptEntry(prompt_id=pid, texts=dict(t), version=version, source=Path("<test>"))
        for pid, t in texts.items()
    }
    return PromptCatalogue(Path("<test>"), entries)
