"""build(): the engine, from the ports it is given and the flow provider."""

from __future__ import annotations

from ivr.flows.checking import limits_of
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.flows.plugin import build
from ivr.ports import Disposition
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import Settings
from ivr.speech.factory import SpeechEngines
from tests.support.fakes import FakeCallbacks, FakeQueues, FakeRecorder, FakeSchedules
from tests.support.scripted import AgentAnswers, Press, ScriptedChannel


def _engine(recorder: FakeRecorder, queues: FakeQueues | None, callbacks: FakeCallbacks | None) -> FlowEngine:
    settings = Settings()
    files = FileFlowProvider(settings.flows_dir, limits_of(settings))
    flows = build(settings, provider=files, files=files, recorder=recorder, queues=queues, callbacks=callbacks,
                  deflection=None, history=None, prompts=PromptCatalogue.load(settings.prompts_dir),
                  schedules=FakeSchedules(), speech=SpeechEngines(settings))
    return flows.engine


async def test_the_engine_calls_the_ports_it_is_given() -> None:
    recorder, queues, callbacks = FakeRecorder(), FakeQueues(), FakeCallbacks()
    engine = _engine(recorder, queues, callbacks)
    assert engine.services.deflection is None and engine.services.history is None
    channel = ScriptedChannel([Press("2"), Press("2"), AgentAnswers()])
    assert await engine.run(channel) is Disposition.CONNECTED
    assert queues.queues == ["support"] and callbacks.reached == [(channel.info.caller, "support")]
    assert recorder.ended[channel.info.call_id] is Disposition.CONNECTED


async def test_without_the_acd_a_call_still_answers() -> None:
    engine = _engine(FakeRecorder(), None, None)
    channel = ScriptedChannel([Press("1"), Press("1")])
    assert await engine.run(channel) is Disposition.TRANSFERRED
    assert channel.variables["PUENTE_QUEUE"] == "billing" and not channel.hung_up
