"""Fakes for ACD tests: callback and deflection ports that record what they were asked, and a
ready-made AcdService with two support agents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr.acd.config import AgentConfig, Announcements, Overflow, QueueConfig
from ivr.acd.service import AcdService
from ivr.acd.store import AcdStore
from ivr.events import EventBus
from ivr.ports import (
    CallbackRefused,
    CallbackRequest,
    CallbackTicket,
    DeflectionRequest,
    LinkTicket,
    MessageChannel,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT


@dataclass
class RecordingCallbacks:
    refuse: bool = False
    requests: list[CallbackRequest] = field(default_factory=list)
    reached: list[tuple[str, str]] = field(default_factory=list)

    async def request(self, req: CallbackRequest) -> CallbackTicket:
        self.requests.append(req)
        if self.refuse:
            raise CallbackRefused("min wait not reached")
        return CallbackTicket(callback_id=f"cb{len(self.requests)}",
                              scheduled_for=datetime.now(UTC) + timedelta(minutes=5))

    async def reached_agent(self, number: str, queue: str) -> None:
        self.reached.append((number, queue))


@dataclass
class RecordingDeflection:
    sent: list[DeflectionRequest] = field(default_factory=list)
    declines: list[tuple[str, str]] = field(default_factory=list)

    async def declined(self, number: str, reason: str) -> None:
        self.declines.append((number, reason))

    async def channels_for(self, number: str) -> list[MessageChannel]:
        return [MessageChannel.SMS]

    async def send_link(self, req: DeflectionRequest) -> LinkTicket:
        self.sent.append(req)
        return LinkTicket(link_id="l1", reference="ABC123", url="http://127.0.0.1/l/abc", channel=MessageChannel.SMS)


def support_queue(**overrides: object) -> QueueConfig:
    base: dict[str, object] = {
        "name": "support", "skills": {"support": 1}, "max_wait_seconds": 600.0,
        "announcements": Announcements(first_after=0.0, every=30.0), "offer_callback_ewt_above": 60.0,
        "offer_link_ewt_above": 30.0, "wrap_up_seconds": 5.0, "ring_timeout": 10.0,
        "overflow": Overflow.parse("flow"),
    }
    base.update(overrides)
    return QueueConfig(**base)  # type: ignore[arg-type]


def two_agents() -> dict[str, AgentConfig]:
    return {
        "a1": AgentConfig("a1", "Agent One", "PJSIP/agent1", {"support": 2}),
        "a2": AgentConfig("a2", "Agent Two", "PJSIP/agent2", {"support": 1}),
    }


def prompts() -> PromptCatalogue:
    return PromptCatalogue.load(Path(PROJECT_ROOT / "prompts"))


def make_service(
    queues: list[QueueConfig] | None = None,
    *,
    agents: dict[str, AgentConfig] | None = None,
    store: AcdStore | None = None,
    callbacks: RecordingCallbacks | None = None,
    deflection: RecordingDeflection | None = None,
    with_prompts: bool = True,
) -> AcdService:
    qs = queues or [support_queue()]
    return AcdService(queues={q.name: q for q in qs}, agents=agents or two_agents(), bus=EventBus(), store=store,
                      prompts=prompts() if with_prompts else None, callbacks=callbacks, deflection=deflection)
