"""ACD persistence on SQLite and the real PostgreSQL: agents, commands from other processes, the
live snapshot, contacts and EWT predictions, and the status figures built from them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner

from ivr.acd.cli import agents as agents_cli
from ivr.acd.runtime import AcdRuntime
from ivr.acd.status import queue_status
from ivr.acd.store import AcdStore, ContactRecord
from ivr.acd.types import AgentState, EntryKind
from ivr.context import CallContext
from ivr.db import Database, utcnow
from ivr.ports import QueueOutcomeKind, QueueRequest
from ivr.settings import Settings
from tests.support.acd_fakes import make_service, support_queue
from tests.support.scripted import AgentAnswers, HangUp, ScriptedChannel, scripted_info


async def test_agent_states_survive_and_commands_reach_the_server(database: Database) -> None:
    store = AcdStore(database)
    service = make_service(store=store, with_prompts=False)
    runtime = AcdRuntime(service, store)
    await service.load()
    service.set_agent_state("a1", AgentState.AVAILABLE)
    await runtime.flush()
    assert {v.agent_id: v.state for v in await store.agents()} == {"a1": AgentState.AVAILABLE,
                                                                  "a2": AgentState.OFFLINE}
    # another process (the CLI) asks for a change; the server's poll applies it
    await store.request_state("a2", AgentState.AVAILABLE, requested_by="cli:test")
    await runtime.poll_once()
    assert service.agent("a2").state is AgentState.AVAILABLE
    await runtime.poll_once()  # applied once only
    # a restarted server finds the states again
    again = make_service(store=store, with_prompts=False)
    await again.load()
    assert again.agent("a1").state is AgentState.AVAILABLE and again.agent("a2").state is AgentState.AVAILABLE
    assert again.last_command_id == service.last_command_id


async def test_live_snapshot_and_status_figures(database: Database) -> None:
    store = AcdStore(database)
    service = make_service(store=store, with_prompts=False)
    await service.load()
    service.set_agent_state("a1", AgentState.BUSY)
    for _ in range(10):
        service.rates["support"].record_service(120.0)
    now = utcnow()
    service.join("support", arrival=now - timedelta(seconds=40), priority=0, kind=EntryKind.CALL, call_id="c1")
    service.join("support", arrival=now, priority=0, kind=EntryKind.CALL, call_id="c2")
    await AcdRuntime(service, store).flush()
    waiting = await store.waiting()
    assert [(w.call_id, w.position) for w in waiting] == [("c1", 1), ("c2", 2)]
    assert waiting[1].ewt_seconds is not None and waiting[1].ewt_seconds > waiting[0].ewt_seconds  # type: ignore[operator]
    await store.record_contact(ContactRecord("e1", "c0", "support", "call", now, now, now, "connected", 10.0,
                                             1, 1, "a1", 130.0))
    await store.record_contact(ContactRecord("e2", "c9", "support", "call", now, now, now, "connected", 50.0))
    await store.record_contact(ContactRecord("e3", "c8", "support", "call", now, now, now, "abandoned", 70.0))
    await store.add_prediction(entry_id="e1", call_id="c0", queue="support", at=now - timedelta(seconds=10),
                               predicted_seconds=30.0, method="qlm", ahead=0, servers=1)
    assert await store.resolve_predictions("e1", left_at=now, outcome="connected") == 1
    status = await queue_status(store, {"support": support_queue()}, hours=1)
    s = status["support"]
    assert s["waiting"] == 2 and 39 <= s["longest_wait_seconds"] <= 45
    assert s["ewt_seconds"] is not None and s["agents"]["busy"] == 1
    assert s["service_level"]["achieved_percent"] == 50.0  # 10 s yes, 50 s no (target 20 s)
    assert s["abandon_rate"] == round(1 / 3, 3) and s["asa_seconds"] == 30.0
    assert s["ewt_mae_seconds"] == 20.0 and s["ewt_samples"] == 1
    recent = await store.recent_contacts("support")
    assert [c.entry_id for c in recent][-1] == "e3"


async def test_hold_loop_records_contacts_and_predictions(database: Database) -> None:
    store = AcdStore(database)
    service = make_service(store=store)
    await service.load()
    service.set_agent_state("a1", AgentState.BUSY)
    for _ in range(10):
        service.rates["support"].record_service(100.0)
    caller = ScriptedChannel([HangUp()], call_info=scripted_info(call_id="gone"))
    outcome = await service.wait_in_queue(caller, QueueRequest("support", CallContext(caller.info, "f", "es")))
    assert outcome.kind is QueueOutcomeKind.ABANDONED
    service.set_agent_state("a2", AgentState.AVAILABLE)
    talker = ScriptedChannel([AgentAnswers(talk_seconds=60)], call_info=scripted_info(call_id="talk"))
    outcome = await service.wait_in_queue(talker, QueueRequest("support", CallContext(talker.info, "f", "es")))
    assert outcome.kind is QueueOutcomeKind.CONNECTED
    contacts = await store.recent_contacts("support")
    assert [(c.call_id, c.outcome) for c in contacts] == [("gone", "abandoned"), ("talk", "connected")]
    assert contacts[1].handle_seconds == 65.0  # talk + wrap-up
    figures = await store.figures("support", since=utcnow() - timedelta(hours=1), service_level_seconds=20)
    assert figures.answered == 1 and figures.abandoned == 1


async def test_cli_set_state_reaches_a_running_server(sqlite_db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = AcdStore(sqlite_db)
    service = make_service(store=store, with_prompts=False)
    runtime = AcdRuntime(service, store, tick=0.05, poll=0.05)
    started = asyncio.Event()
    task = asyncio.create_task(runtime.run(started))
    await asyncio.wait_for(started.wait(), 10)
    settings = Settings(database_url=sqlite_db.url, var_dir=tmp_path)
    result = await asyncio.to_thread(CliRunner().invoke, agents_cli, ["set-state", "a1", "available"], obj=settings)
    assert result.exit_code == 0, result.output
    async with asyncio.timeout(10):
        while service.agent("a1").state is not AgentState.AVAILABLE:
            await asyncio.sleep(0.02)
    bad = await asyncio.to_thread(CliRunner().invoke, agents_cli, ["set-state", "zz", "away"], obj=settings)
    assert bad.exit_code != 0 and "no agent" in bad.output
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_admin_queue_edit_is_live_and_outlives_the_file(database: Database) -> None:
    store = AcdStore(database)
    service = make_service(store=store, with_prompts=False)
    await service.load()
    edited = support_queue(max_wait_seconds=42.0, skills={"support": 2}, extra={"callback": {"enabled": False}})
    await service.update_queue(edited)
    assert service.queue_config("support").max_wait_seconds == 42.0
    assert service.router.queues["support"] == {"support": 2}
    restarted = make_service(store=store, with_prompts=False)  # the file still says 600 s
    await restarted.load()
    again = restarted.queue_config("support")
    assert again.max_wait_seconds == 42.0 and again.skills == {"support": 2}
    assert again.extra == {"callback": {"enabled": False}} and again == edited
