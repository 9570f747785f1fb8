"""The desk's transfer to a queue, seen by the hold loop: the first agent's contact ends (wrap-up),
the caller waits in the target queue as the same call (its context and first arrival kept), and the
next agent gets the screen pop of that same call; hold and resume go through to the backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ivr.acd.config import AgentConfig
from ivr.acd.router import Router
from ivr.acd.types import AgentState
from ivr.callcontrol import ControlAction, LiveBridge, TransferTarget
from ivr.channel import ConnectResult, DialStatus, InputMode, PromptFile
from ivr.context import CallContext, InputRecord
from ivr.events.types import AgentConnected, QueueJoined
from ivr.ports import QueueOutcomeKind, QueueRequest
from tests.support.acd_fakes import make_service, support_queue
from tests.support.scripted import ScriptedChannel


class RecordingOps:
    """The backend's side: what the desk asked for (a backend with everything available)."""

    backend = "test"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.released = asyncio.Event()

    def unavailable(self, action: ControlAction) -> str | None:
        return None

    async def hold(self) -> None:
        self.calls.append("hold")

    async def resume(self) -> None:
        self.calls.append("resume")

    async def release(self) -> None:
        self.calls.append("release")
        self.released.set()


class DeskBridgedChannel(ScriptedChannel):
    """The first connect lasts until the desk releases the agent; the second ends at once with the
    caller leaving (the contact in the new queue happened)."""

    def __init__(self) -> None:
        super().__init__([])
        self.ops = RecordingOps()
        self.bridges: list[LiveBridge | None] = []
        self.endpoints: list[str] = []
        self.opened = asyncio.Event()

    async def connect(self, endpoint: str, *, timeout: float, caller_id: str | None = None,
                      on_answer: Callable[[], None] | None = None, announce: Sequence[PromptFile] = (),
                      bridge: LiveBridge | None = None) -> ConnectResult:
        assert on_answer is not None
        self.endpoints.append(endpoint)
        self.bridges.append(bridge)
        on_answer()
        if len(self.endpoints) == 1:
            assert bridge is not None
            bridge.attach(self.ops)
            self.opened.set()
            await self.ops.released.wait()
        else:
            self._leave("after the second bridge")
        return ConnectResult(DialStatus.ANSWER, ring_seconds=1.0, talk_seconds=5.0, hangup_cause=16)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_transfer_to_a_queue_keeps_the_call_and_reaches_that_queue_s_agent() -> None:
    billing = support_queue(name="billing", skills={"billing": 1})
    agents = {"a1": AgentConfig("a1", "Agent One", "PJSIP/agent1", {"support": 1}),
              "b1": AgentConfig("b1", "Billing One", "PJSIP/billing1", {"billing": 1})}
    service = make_service([support_queue(), billing], agents=agents)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    service.set_agent_state("b1", AgentState.AVAILABLE)
    sub = service.bus.subscribe()
    channel = DeskBridgedChannel()
    ctx = CallContext(info=channel.info, flow="support", language="es")
    ctx.inputs.append(InputRecord(node="menu", mode=InputMode.DTMF, digits="2"))
    waiting = asyncio.create_task(service.wait_in_queue(channel, QueueRequest(queue="support", context=ctx)))
    await asyncio.wait_for(channel.opened.wait(), 10)
    bridge = service.controls.for_agent("a1")
    assert bridge is not None and bridge.call_id == channel.info.call_id
    assert bridge.why_not(ControlAction.TRANSFER) is None

    await service.controls.hold(bridge, datetime.now(UTC))
    assert bridge.held and bridge.why_not(ControlAction.HOLD) == "the caller is already on hold"
    await service.controls.resume(bridge)
    await service.controls.transfer(bridge, TransferTarget(queue="billing", by="alex"))
    outcome = await asyncio.wait_for(waiting, 10)

    assert channel.ops.calls == ["hold", "resume", "release"]
    assert channel.endpoints == ["PJSIP/agent1", "PJSIP/billing1"]
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "b1"
    events = list(iter(sub.get_nowait, None))
    joined = [e.queue for e in events if isinstance(e, QueueJoined)]
    assert joined == ["support", "billing"]
    pops = [e for e in events if isinstance(e, AgentConnected)]
    assert [(p.agent_id, p.queue, p.call_id) for p in pops] == [
        ("a1", "support", channel.info.call_id), ("b1", "billing", channel.info.call_id)]
    assert pops[1].context["inputs"][0]["digits"] == "2"  # the caller's context came along
    assert service.agent("a1").state is AgentState.WRAP_UP  # the first agent's contact ended
    assert service.controls.get(channel.info.call_id) is None  # no bridge left behind
    assert not service.router.entries


async def test_transfer_to_a_named_agent_rings_only_them_and_a_miss_falls_back_to_the_queue() -> None:
    agents = {"a1": AgentConfig("a1", "Agent One", "PJSIP/agent1", {"support": 1}),
              "a2": AgentConfig("a2", "Agent Two", "PJSIP/agent2", {"support": 1}),
              "x9": AgentConfig("x9", "Expert", "PJSIP/expert", {"billing": 1})}  # no support skill
    service = make_service([support_queue()], agents=agents)
    for agent_id in ("a1", "a2", "x9"):
        service.set_agent_state(agent_id, AgentState.AVAILABLE)
    channel = DeskBridgedChannel()
    ctx = CallContext(info=channel.info, flow="support", language="es")
    waiting = asyncio.create_task(service.wait_in_queue(channel, QueueRequest(queue="support", context=ctx)))
    await asyncio.wait_for(channel.opened.wait(), 10)
    first = channel.endpoints[0]
    bridge = service.controls.get(channel.info.call_id)
    assert bridge is not None
    # a2 is free and qualified, but the desk named x9 (who lacks the skill: a person chose them)
    await service.controls.transfer(bridge, TransferTarget(queue="support", by="sam", agent_id="x9"))
    outcome = await asyncio.wait_for(waiting, 10)
    assert channel.endpoints == [first, "PJSIP/expert"]
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "x9"


def test_a_named_agent_who_misses_the_transfer_leaves_it_to_the_queue() -> None:
    now = datetime.now(UTC)
    router = Router()
    router.set_queue("support", {"support": 1})
    for agent_id in ("a1", "a2"):
        router.upsert_agent(agent_id, f"PJSIP/{agent_id}", {"support": 1}, at=now)
    router.set_state("a1", AgentState.AVAILABLE, at=now)
    router.join("e1", "support", arrival=now, for_agent="a2")  # a2 is offline: a1 is not offered it
    assert router.dispatch(now) == []
    router.set_state("a2", AgentState.AVAILABLE, at=now)
    assert [(o.entry_id, o.agent_id) for o in router.dispatch(now)] == [("e1", "a2")]
    router.no_answer("e1", at=now)  # a2 missed it: any qualified agent may take it now
    assert [(o.entry_id, o.agent_id) for o in router.dispatch(now)] == [("e1", "a1")]
