"""ACD persistence on SQLite and the real PostgreSQL: agents, commands from other processes, the
live snapshot, contacts and EWT predictions, and the status figures built from them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner

from ivr.acd.cli import agents as agents_cli
from ivr.acd.runtime import AcdRuntime
from ivr.acd.status import queue_status
from ivr.acd.store import AcdStore, AnnouncedBand, ContactRecord
from ivr.acd.types import AgentState, EntryKind
from ivr.context import CallContext
from ivr.db import Database, utcnow
from ivr.ports import QueueOutcomeKind, QueueRequest
from ivr.settings import Settings
from tests.support.acd_fakes import make_service, support_queue
from tests.support.scripted import AgentAnswers, HangUp, ScriptedChannel, Silence, scripted_info


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
    await store.record_contact(ContactRecord("e4", "c7", "support", "call", now, now, now, "abandoned", 3.0))
    await store.add_prediction(entry_id="e1", call_id="c0", queue="support", at=now - timedelta(seconds=10),
                               predicted_seconds=30.0, method="qlm", ahead=0, servers=1)
    assert await store.resolve_predictions("e1", left_at=now, outcome="connected") == 1
    status = await queue_status(store, {"support": support_queue()}, hours=1)
    s = status["support"]
    assert s["waiting"] == 2 and 39 <= s["longest_wait_seconds"] <= 45
    assert s["ewt_seconds"] is not None and s["agents"]["busy"] == 1
    # SL = answered within 20 s ÷ (answered + abandoned after 5 s): 10 s yes, 50 s no, the 70 s
    # abandon counts against it; the 3 s abandon is left out and counted apart
    assert s["service_level"]["achieved_percent"] == 33.3 and s["service_level"]["counted"] == 3
    assert s["short_abandoned"] == 1 and s["abandoned"] == 2 and s["abandon_percent"] == 33.3
    assert "left out" in s["service_level"]["definition"]
    assert s["abandon_rate"] == 0.5 and s["asa_seconds"] == 30.0
    assert s["levels"]["service_level_percent"] == "alarm" and s["levels"]["waiting"] == "ok"
    assert s["ewt"]["mae_seconds"] == 20.0 and s["ewt"]["seconds"] == s["ewt_seconds"]
    assert s["ewt_mae_seconds"] == 20.0 and s["ewt_samples"] == 1
    recent = await store.recent_contacts("support")
    assert [c.entry_id for c in recent][-1] == "e4"


async def test_announced_accuracy_per_queue_and_day(database: Database) -> None:
    store = AcdStore(database)
    now = utcnow().replace(hour=12, minute=0)  # mid-day, so the whole story falls on today (UTC)
    said = [  # (entry, predicted, band low, band high, waited after, outcome)
        ("a", 100.0, 0.0, 240.0, 90.0, "connected"),  # in band, within 25%
        ("b", 300.0, 200.0, 400.0, 500.0, "connected"),  # outside both
        ("c", 3600.0, 3600.0, None, 4000.0, "connected"),  # "more than an hour": in band, within 25%
        ("d", 60.0, 0.0, 120.0, 30.0, "abandoned"),  # never answered: not judged
    ]
    for entry, predicted, low, high, waited, outcome in said:
        await store.add_prediction(entry_id=entry, call_id=None, queue="support", at=now - timedelta(seconds=waited),
                                   predicted_seconds=predicted, method="qlm", ahead=1, servers=1,
                                   band=AnnouncedBand("x", low, high))
        await store.resolve_predictions(entry, left_at=now, outcome=outcome)
    # a prediction that was never spoken does not count
    await store.add_prediction(entry_id="e", call_id=None, queue="support", at=now - timedelta(seconds=5),
                               predicted_seconds=1000.0, method="qlm", ahead=1, servers=1)
    await store.resolve_predictions("e", left_at=now, outcome="connected")
    day = await store.ewt_accuracy("support", since=now - timedelta(hours=2))
    assert (day.announced, day.within_band, day.within_25_percent) == (3, 2, 2)
    assert day.mae_seconds is not None and abs(day.mae_seconds - (10 + 200 + 400) / 3) < 0.01
    assert (await store.ewt_accuracy("support", since=now + timedelta(hours=1))).announced == 0
    status = await queue_status(store, {"support": support_queue()}, hours=1)
    acc = status["support"]["ewt_accuracy"]
    assert acc["announced"] == 3 and acc["within_band_percent"] == 66.7 and acc["within_25_percent"] == 66.7


async def test_estimates_warm_up_from_stored_history(database: Database) -> None:
    store = AcdStore(database)
    now = utcnow()
    for i in range(600):  # yesterday's calls: 100 s handle times, every 4th caller gave up after 60 s
        abandoned = i % 4 == 0
        await store.record_contact(ContactRecord(f"h{i}", None, "support", "call", now, now, now,
                                                 "abandoned" if abandoned else "connected", 60.0,
                                                 handle_seconds=None if abandoned else 100.0))
    for i in range(300):  # and what followed its estimates: answered in half the time the model said
        await store.add_prediction(entry_id=f"p{i}", call_id=None, queue="support", at=now - timedelta(seconds=100),
                                   predicted_seconds=200.0, method="qlm", ahead=1, servers=2, model_seconds=200.0)
        await store.add_prediction(entry_id=f"p{i}", call_id=None, queue="support", at=now - timedelta(seconds=50),
                                   predicted_seconds=90.0, method="qlm", ahead=0, servers=2, model_seconds=90.0)
        await store.resolve_predictions(f"p{i}", left_at=now, outcome="connected")
    cold = make_service(with_prompts=False)
    restarted = make_service(store=store, with_prompts=False)
    await restarted.load()
    assert cold.rates["support"].mean_handle == 180.0  # the prior alone
    assert abs(restarted.rates["support"].mean_handle - 100.0) < 10.0
    assert abs(restarted.rates["support"].theta - 0.25 / 60) < 0.001
    assert cold.rates["support"].correction.factor(1, 2) == 1.0
    assert restarted.rates["support"].correction.factor(1, 2) < 0.7  # learnt from the first estimate of each
    assert restarted.rates["support"].correction.factor(0, 2) == 1.0  # later estimates are not replayed


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


async def test_what_a_caller_heard_is_stored_and_judged(database: Database) -> None:
    store = AcdStore(database)
    service = make_service(store=store)
    await service.load()
    service.set_agent_state("a1", AgentState.BUSY)
    caller = ScriptedChannel([Silence(), AgentAnswers(talk_seconds=30)], call_info=scripted_info(call_id="heard"),
                             hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(caller, QueueRequest("support",
                                                                          CallContext(caller.info, "f", "es"))))
    async with asyncio.timeout(20):
        while not any(e.op == "hold" for e in caller.log):
            await asyncio.sleep(0.01)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    outcome = await asyncio.wait_for(task, 20)
    assert outcome.kind is QueueOutcomeKind.CONNECTED
    assert "es/queue/wait_less_than" in caller.played  # 180 s prior, one agent: "less than N minutes"
    accuracy = await store.ewt_accuracy("support", since=utcnow() - timedelta(hours=1))
    assert accuracy.announced == 1 and accuracy.within_band == 1  # answered at once: inside "less than ..."
    assert accuracy.mae_seconds is not None and accuracy.mae_seconds > 100


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
