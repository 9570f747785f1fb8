from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ivr.calls import plugin as calls_plugin
from ivr.calls.store import CallStore
from ivr.channel import CallInfo
from ivr.composition import Container
from ivr.config import plugin as config_plugin
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import CallHistory, CallRecorder, Disposition
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.model import ScheduleState
from ivr.schedules.service import ScheduleService
from ivr.settings import Settings
from tests.support.scripted import ScriptedBackend


async def test_wiring_registers_services_and_the_writer_component(sqlite_db: Database) -> None:
    container = Container(settings=Settings(), db=sqlite_db, bus=EventBus())
    await calls_plugin.wire(container)
    await config_plugin.wire(container)

    store = container.services["call_store"]
    assert isinstance(store, CallStore)
    assert container.services["recorder"] is store and container.services["history"] is store
    recorder: CallRecorder = store  # the engine's ports, statically checked by mypy
    history: CallHistory = store
    assert recorder is history
    assert store in container.components

    schedules = container.services["schedules"]
    assert isinstance(schedules, ScheduleService) and "support" in schedules.names()
    assert (await schedules.status("always")).state is ScheduleState.OPEN
    prompts = container.services["prompts"]
    assert isinstance(prompts, PromptCatalogue) and prompts.has("greeting", "es")

    # The component runs like `ivr serve` runs it; the closers flush what is left.
    started = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(store.run(started), name=store.name)
        await started.wait()
        info = CallInfo(call_id="w1", caller="+34600000001", dialled="900", backend=ScriptedBackend.SCRIPTED,
                        started_at=datetime.now(UTC))
        await store.call_started(info, flow="support", language="es")
        await store.call_ended("w1", Disposition.COMPLETED)
        task.cancel()
    for closer in container.closers:
        await closer()
    record = await store.get_call("w1")
    assert record is not None and record.disposition == "completed"
