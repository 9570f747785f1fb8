from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ivr.calls import plugin as calls_plugin
from ivr.channel import CallInfo
from ivr.config import plugin as config_plugin
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import CallHistory, CallRecorder, Disposition
from ivr.schedules.model import ScheduleState
from ivr.settings import Settings
from tests.support.scripted import ScriptedBackend


async def test_the_domains_build_the_store_schedules_and_prompts(sqlite_db: Database) -> None:
    calls = calls_plugin.build(sqlite_db, EventBus(), owner=None)
    config = config_plugin.build(Settings(), sqlite_db)

    store = calls.store
    recorder: CallRecorder = store  # the engine's ports, statically checked by mypy
    history: CallHistory = store
    assert recorder is history

    schedules = config.schedules
    assert "support" in schedules.names()
    assert (await schedules.status("always")).state is ScheduleState.OPEN
    assert config.prompts.has("greeting", "es")

    # The component runs like `ivr serve` runs it; its closer flushes what is left.
    started = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(store.run(started), name=store.name)
        await started.wait()
        info = CallInfo(call_id="w1", caller="+34600000001", dialled="900", backend=ScriptedBackend.SCRIPTED,
                        started_at=datetime.now(UTC))
        await store.call_started(info, flow="support", language="es")
        await store.call_ended("w1", Disposition.COMPLETED)
        task.cancel()
    await store.aclose()
    record = await store.get_call("w1")
    assert record is not None and record.disposition == "completed"
