"""Post-call rating: per queue setting, only with consent, deferred through quiet hours."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deflection.aftercall import PostCallRating
from deflection.links import LinkPurpose
from deflection.providers.base import MessageStatus
from deflection.service import DeflectionService
from ivr.db import Database
from ivr.events.types import AgentConnected, CallEnded
from tests.support.deflection_env import NUMBER, container, request


@dataclass
class _Queue:
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Queues:
    def __init__(self, rating: dict[str, bool]) -> None:
        self._rating = rating

    def queue_config(self, name: str) -> _Queue:
        if name not in self._rating:
            raise LookupError(name)
        return _Queue({"deflection": {"rating": self._rating[name]}})


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
NIGHT = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Madrid


async def _setup(database: Database, clock: Clock) -> tuple[DeflectionService, PostCallRating]:
    c = await container(database)
    svc: DeflectionService = c.deflection.service
    svc._clock = clock  # one clock for the whole scenario
    rating = PostCallRating(svc, c.bus, c.settings.deflection, queues=_Queues({"billing": True, "general": False}),
                            calls=None, clock=clock)
    return svc, rating


def _connected(call_id: str, queue: str = "billing") -> AgentConnected:
    return AgentConnected(agent_id="a1", call_id=call_id, queue=queue,
                          context={"caller": NUMBER, "language": "es", "call_id": call_id})


async def test_rating_link_after_agent_call_with_consent(database: Database) -> None:
    svc, rating = await _setup(database, Clock(NOON))
    await svc.send_link(request())  # consent given in call-1
    await rating.on_event(_connected("call-1"))
    await rating.on_event(CallEnded(call_id="call-1", disposition="connected", duration_seconds=300))
    ratings = [link for link in await svc.links.list() if link.purpose is LinkPurpose.RATING]
    assert len(ratings) == 1 and ratings[0].call_id == "call-1" and "sent" in ratings[0].stages
    [msg] = await svc.messages.list(link_id=ratings[0].id)
    assert "gracias por su llamada" in msg.body.lower() and msg.status is MessageStatus.QUEUED


async def test_no_rating_without_consent_or_when_queue_says_no(database: Database) -> None:
    svc, rating = await _setup(database, Clock(NOON))
    await rating.on_event(_connected("call-2"))  # no consent in call-2, none standing
    await rating.on_event(CallEnded(call_id="call-2", disposition="connected", duration_seconds=60))
    await svc.send_link(request())  # consent in call-1 only
    await rating.on_event(_connected("call-1", queue="general"))  # queue with rating off
    await rating.on_event(CallEnded(call_id="call-1", disposition="connected", duration_seconds=60))
    await rating.on_event(CallEnded(call_id="call-9", disposition="abandoned", duration_seconds=60))  # no agent
    assert [link for link in await svc.links.list() if link.purpose is LinkPurpose.RATING] == []
    assert rating.handled == 3


async def test_quiet_hours_defer_until_morning(database: Database) -> None:
    clock = Clock(NIGHT)
    svc, rating = await _setup(database, clock)
    await svc.send_link(request())
    await rating.call_ended("call-1", "billing", {"caller": NUMBER, "language": "es"})
    [link] = [link for link in await svc.links.list() if link.purpose is LinkPurpose.RATING]
    [msg] = await svc.messages.list(link_id=link.id)
    assert msg.status is MessageStatus.DEFERRED and "[token]" in msg.body
    assert msg.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 Madrid
    assert await svc.send_due_deferred() == 0  # still night
    clock.now = datetime(2026, 11, 24, 8, 1, tzinfo=UTC)
    assert await svc.send_due_deferred() == 1
    [sent] = await svc.messages.list(link_id=link.id)
    assert sent.id == msg.id and sent.status is MessageStatus.QUEUED
    assert "https://puente.example/c/" in sent.body and "[token]" not in sent.body  # the outbox shows the link
    updated = await svc.links.get(link.id)
    assert updated is not None and "sent" in updated.stages
    assert await svc.send_due_deferred() == 0  # claimed once


async def test_component_listens_to_the_bus(sqlite_db: Database) -> None:
    svc, rating = await _setup(sqlite_db, Clock(NOON))
    await svc.send_link(request())
    bus = svc._bus
    started = asyncio.Event()
    task = asyncio.create_task(rating.run(started))
    try:
        await asyncio.wait_for(started.wait(), 20)
        bus.publish(_connected("call-1"))
        bus.publish(CallEnded(call_id="call-1", disposition="connected", duration_seconds=10))
        async with asyncio.timeout(10):
            while rating.handled < 1:
                rating.changed.clear()
                await rating.changed.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert any(link.purpose is LinkPurpose.RATING for link in await svc.links.list())
