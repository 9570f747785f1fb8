"""Two ACD services (two nodes) on one shared line: an offer crosses nodes, each node's mirror
follows the other's callers and agent changes within a second, and a wrap-up ends on time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.acd.cluster import ClusterLink, LineOutbox
from ivr.acd.config import load_agents, load_queues
from ivr.acd.service import AcdService
from ivr.acd.types import AgentState, EntryKind
from ivr.db import utcnow
from ivr.events import EventBus
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres
DIALPLAN = Path(__file__).resolve().parents[2] / "dialplan"


@pytest.fixture
async def two_nodes() -> AsyncIterator[tuple[AcdService, AcdService]]:
    require_postgres()
    queues = {name: replace(cfg, wrap_up_seconds=0.5) for name, cfg in load_queues(DIALPLAN / "queues.yaml").items()}
    agents = load_agents(DIALPLAN / "agents.yaml")
    async with postgres_database() as db:
        services, tasks = [], []
        for owner in ("a:1", "b:1"):
            outbox = LineOutbox(owner)
            service = AcdService(queues=queues, agents=agents, bus=EventBus(), link=outbox)
            link = ClusterLink(service, outbox, db.url, lease_seconds=3.0)
            started = asyncio.Event()
            tasks.append(asyncio.create_task(link.run(started)))
            async with asyncio.timeout(10):
                await started.wait()
            services.append(service)
        try:
            yield services[0], services[1]
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _within(seconds: float, check: Callable[[], bool], *services: AcdService) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            for service in services:
                service.tick()  # what AcdRuntime does every 0.5 s
            await asyncio.sleep(0.02)


async def test_an_offer_crosses_nodes_and_the_wrap_up_ends(two_nodes: tuple[AcdService, AcdService]) -> None:
    a, b = two_nodes
    a.set_agent_state("agent2", AgentState.AVAILABLE)  # support level 1: the only one free
    await _within(1.0, lambda: b.agent("agent2").state is AgentState.AVAILABLE)
    waiter = b.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id="c1")
    async with asyncio.timeout(2):
        await waiter.wake.wait()
    assert waiter.assignment is not None and waiter.assignment.agent_id == "agent2"
    await _within(1.0, lambda: [e.entry_id for e in a.router.in_queue("support")] == [waiter.entry_id])
    await _within(1.0, lambda: a.agent("agent2").state is AgentState.RINGING)
    b.answered(waiter, answered_at=utcnow())
    b.contact_ended("agent2", "support", talk_seconds=1.0)
    await _within(1.0, lambda: a.agent("agent2").state is AgentState.WRAP_UP)
    await _within(2.0, lambda: a.agent("agent2").state is AgentState.AVAILABLE, a, b)
    assert a.router.in_queue("support") == [] and b.router.in_queue("support") == []


async def test_positions_count_the_other_nodes_callers(two_nodes: tuple[AcdService, AcdService]) -> None:
    a, b = two_nodes
    a.set_agent_state("agent1", AgentState.BUSY)  # staffed but on a call: everyone waits
    first = a.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id="c1")
    await _within(1.0, lambda: len(b.router.in_queue("support")) == 1)
    second = b.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id="c2")
    assert second.position_at_join == 2
    await _within(1.0, lambda: a.position_of(second.entry_id) == 2 and a.position_of(first.entry_id) == 1)
    ewt_a, ewt_b = a.estimate_for(second), b.estimate_for(second)
    assert ewt_a is not None and ewt_b is not None and ewt_a.method is ewt_b.method
    assert ewt_a.seconds == pytest.approx(ewt_b.seconds, abs=0.01)  # (head-of-line: read a moment apart)
    a.leave(first)
    await _within(1.0, lambda: b.position_of(second.entry_id) == 1)
