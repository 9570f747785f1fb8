"""The ACD inside the server: wiring, and agent states driven by AMI device states replayed from
the real registration capture (agent2 registers, expires, registers, unregisters)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ivr.acd.runtime import AcdRuntime, AmiDeviceFeed
from ivr.acd.types import AgentState, StateReason
from ivr.ami.client import AmiClient
from ivr.db import Database
from ivr.events import EventBus
from ivr.events.types import AgentStateChanged
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import AmiSettings, Settings
from tests.support.acd_fakes import make_service
from tests.support.ami_server import FakeAmiServer, events, load_capture, responses_to
from tests.support.fakes import FakeRecorder


async def test_wire_registers_the_service_and_components(sqlite_db: Database, tmp_path: Path) -> None:
    from ivr.acd.plugin import build, build_queue_book

    settings = Settings(database_url=sqlite_db.url, var_dir=tmp_path, ami=AmiSettings(enabled=True))
    ami = AmiClient(settings.ami)
    acd = build(settings, sqlite_db, EventBus(), queues=build_queue_book(settings), owner="node-1",
                recorder=FakeRecorder(), prompts=PromptCatalogue.load(settings.prompts_dir), callbacks=None,
                deflection=None, ami=ami)
    service = acd.service
    assert service.queue_names() == ["billing", "general", "support"]
    assert service.queue_config("support").skills == {"support": 1}
    assert service.queues is acd.queues  # the book other domains read is the one the ACD edits
    assert {type(c).__name__ for c in acd.components} == {"AcdRuntime", "AmiDeviceFeed"}


async def test_device_states_from_the_registration_capture(asterisk_captures: Path) -> None:
    r2 = asterisk_captures / "round2"
    devstate = load_capture(r2 / "ami-devstate-registration.txt")
    restart = load_capture(r2 / "ami-reconnect-core-restart-idle.txt")
    server = FakeAmiServer(login=responses_to(restart, "Login")[:1], answers={
        "devicestatelist": responses_to(devstate, "DeviceStateList"),
        "coreshowchannels": [],  # unanswered: the resync still applies the device states
    })
    await server.start()
    service = make_service(with_prompts=False)
    service.set_agent_state("a2", AgentState.AVAILABLE)
    changes = service.bus.subscribe(accept=lambda e: isinstance(e, AgentStateChanged))
    client = AmiClient(AmiSettings(enabled=True, port=server.port, username="labadmin", secret="labsecret",
                                   reconnect_max_delay=0.2), initial_delay=0.02, action_timeout=0.5)
    feed = AmiDeviceFeed(service, client)
    try:
        async with client, asyncio.TaskGroup() as tg:
            started = asyncio.Event()
            task = tg.create_task(feed.run(started))
            await started.wait()
            # the resync lists agent2 UNAVAILABLE: the agent goes offline (device)
            async with asyncio.timeout(10):
                while service.agent("a2").state is not AgentState.OFFLINE:
                    await asyncio.sleep(0.01)
            assert service.agent("a2").reason is StateReason.DEVICE
            live = [b for b in events(devstate, "DeviceStateChange")
                    if not b.header("ActionID") and b.header("Device") == "PJSIP/agent2"]
            assert [b.header("State") for b in live] == ["NOT_INUSE", "UNAVAILABLE", "NOT_INUSE", "UNAVAILABLE"]
            await server.push(live[:1])  # registered: back to available
            async with asyncio.timeout(10):
                while service.agent("a2").state is not AgentState.AVAILABLE:
                    await asyncio.sleep(0.01)
            await server.push(live[1:])  # expired, registered, unregistered
            async with asyncio.timeout(10):
                seen: list[str] = []
                while seen[-3:] != ["offline", "available", "offline"]:
                    event = await changes.get()
                    assert isinstance(event, AgentStateChanged)
                    if event.agent_id == "a2":
                        seen.append(event.state)
            task.cancel()
    finally:
        await server.stop()


async def test_runtime_ends_wrap_up_on_its_tick(sqlite_db: Database) -> None:
    from ivr.acd.store import AcdStore

    store = AcdStore(sqlite_db)
    service = make_service(store=store, with_prompts=False)
    runtime = AcdRuntime(service, store, tick=0.02, poll=0.05)
    started = asyncio.Event()
    task = asyncio.create_task(runtime.run(started))
    async with asyncio.timeout(10):
        await started.wait()
        service.set_agent_state("a1", AgentState.WRAP_UP)
        service.router.agents["a1"].wrap_up_until = service.clock()  # as if a contact's wrap-up ran out
        while service.agent("a1").state is not AgentState.AVAILABLE:
            await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_stale_available_agent_is_corrected_when_asterisk_has_booted(asterisk_captures: Path) -> None:
    # #15 item 5: after "core restart now" Puente logged in before PJSIP had loaded, resynced 0
    # devices, and agent2 stayed available while DeviceStateList said UNAVAILABLE.
    r2 = asterisk_captures / "round2"
    devstate = load_capture(r2 / "ami-devstate-registration.txt")
    restart = load_capture(r2 / "ami-reconnect-core-restart-idle.txt")
    full = responses_to(devstate, "DeviceStateList")
    second = responses_to(restart, "Login", nth=1)
    server = FakeAmiServer(login=second[:1], answers={
        "devicestatelist": [b for b in full if b.header("Event") != "DeviceStateChange"],  # PJSIP not loaded yet
        "coreshowchannels": [],
    })
    await server.start()
    service = make_service(with_prompts=False)
    service.set_agent_state("a2", AgentState.AVAILABLE)
    client = AmiClient(AmiSettings(enabled=True, port=server.port, username="labadmin", secret="labsecret",
                                   reconnect_max_delay=0.2), initial_delay=0.02, action_timeout=0.5)
    feed = AmiDeviceFeed(service, client)
    resyncs = client.subscribe("Resynced")
    try:
        async with client, asyncio.TaskGroup() as tg:
            started = asyncio.Event()
            task = tg.create_task(feed.run(started))
            await started.wait()
            async with asyncio.timeout(10):
                await resyncs.get()  # the login's empty list
            assert service.agent("a2").state is AgentState.AVAILABLE  # nothing said otherwise yet
            server.answers["devicestatelist"] = full
            await server.push([b for b in second[1:] if b.header("Event") == "FullyBooted"])
            async with asyncio.timeout(5):  # within seconds of FullyBooted
                while service.agent("a2").state is not AgentState.OFFLINE:
                    await asyncio.sleep(0.01)
            assert service.agent("a2").reason is StateReason.DEVICE
            task.cancel()
    finally:
        await server.stop()


async def test_a_restarted_runtime_keeps_the_live_agent_states(sqlite_db: Database) -> None:
    """The supervisor restarts a failed runtime by running it again: the service in memory (an
    agent on a live contact) is the truth then, not what was last written to the database."""
    from ivr.acd.store import AcdStore

    store = AcdStore(sqlite_db)
    service = make_service(store=store, with_prompts=False)
    runtime = AcdRuntime(service, store, tick=0.02, poll=0.05)
    for round_ in range(2):
        started = asyncio.Event()
        task = asyncio.create_task(runtime.run(started))
        await asyncio.wait_for(started.wait(), 10)
        if round_ == 0:
            agent = service.router.agents["a1"]
            agent.state, agent.reason = AgentState.BUSY, StateReason.CONTACT  # talking to a caller now
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert service.agent("a1").state is AgentState.BUSY
