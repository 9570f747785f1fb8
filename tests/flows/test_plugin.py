"""Wiring: the engine and the flow provider registered from the container's services."""

from __future__ import annotations

from pathlib import Path

from ivr.composition import Container
from ivr.db import Database
from ivr.events import EventBus
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.flows.plugin import wire
from ivr.ports import Disposition
from ivr.settings import Settings
from tests.support.fakes import FakeCallbacks, FakeQueues, FakeRecorder, FakeSchedules
from tests.support.scripted import AgentAnswers, Press, ScriptedChannel


async def test_wire_registers_engine_and_provider(tmp_path: Path) -> None:
    container = Container(settings=Settings(), db=Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"),
                          bus=EventBus())
    recorder, queues, callbacks = FakeRecorder(), FakeQueues(), FakeCallbacks()
    container.services.update(recorder=recorder, acd=queues, callbacks=callbacks, schedules=FakeSchedules())
    try:
        await wire(container)
        engine = container.services["engine"]
        assert isinstance(engine, FlowEngine)
        assert isinstance(container.services["flows"], FileFlowProvider)
        assert engine.services.deflection is None and engine.services.history is None
        channel = ScriptedChannel([Press("2"), Press("2"), AgentAnswers()])
        assert await engine.run(channel) is Disposition.CONNECTED
        assert queues.queues == ["support"] and callbacks.reached == [(channel.info.caller, "support")]
        assert recorder.ended[channel.info.call_id] is Disposition.CONNECTED
    finally:
        await container.db.dispose()


async def test_wire_without_recorder_or_acd_still_answers(tmp_path: Path) -> None:
    container = Container(settings=Settings(), db=Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"),
                          bus=EventBus())
    container.services["schedules"] = FakeSchedules()
    try:
        await wire(container)
        channel = ScriptedChannel([Press("1"), Press("1")])
        assert await container.services["engine"].run(channel) is Disposition.TRANSFERRED
        assert channel.variables["PUENTE_QUEUE"] == "billing" and not channel.hung_up
    finally:
        await container.db.dispose()
