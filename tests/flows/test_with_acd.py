"""The engine with the real ACD hold loop (in memory) behind the support flow's queue nodes."""

from __future__ import annotations

from ivr.acd.types import AgentState
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.ports import Disposition
from ivr.settings import Settings
from tests.flows.conftest import FLOWS_DIR
from tests.support.acd_fakes import make_service, prompts
from tests.support.fakes import FakeCallbacks, FakeSchedules, fake_services
from tests.support.scripted import AgentAnswers, Press, ScriptedChannel


async def test_support_call_reaches_a_free_agent_through_the_acd() -> None:
    acd = make_service()
    acd.set_agent_state("a2", AgentState.AVAILABLE)
    callbacks = FakeCallbacks()
    engine = FlowEngine(FileFlowProvider(FLOWS_DIR), fake_services(queues=acd, callbacks=callbacks), prompts(),
                        FakeSchedules(), settings=Settings())
    channel = ScriptedChannel([Press("2"), Press("2"), AgentAnswers(talk_seconds=30)])
    assert await engine.run(channel) is Disposition.CONNECTED
    assert ("connect", ("PJSIP/agent2",)) in [(e.op, e.detail) for e in channel.log]
    assert (channel.info.caller, "support") in callbacks.reached
    assert channel.variables["PUENTE_QUEUE"] == "support"
