from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.calls.models import CallEventRow, CallRow
from ivr.calls.store import CallStore
from ivr.channel import Backend, CallInfo
from ivr.db import Database
from ivr.db.migrate import upgrade_async
from ivr.events import EventBus
from ivr.events.flow import PromptPlayed
from ivr.events.types import (
    AgentConnected,
    CallEnded,
    CallStarted,
    InputReceived,
    NodeEntered,
    NoInput,
    QueueJoined,
    QueueLeft,
)
from ivr.ports import Disposition


def info(call_id: str, caller: str = "+34600111222", started: datetime | None = None) -> CallInfo:
    return CallInfo(call_id=call_id, caller=caller, dialled="900100200", backend=Backend.AGI,
                    started_at=started or datetime.now(UTC), linked_id=f"L-{call_id}")


async def run_queued_call(store: CallStore, bus: EventBus, call_id: str, caller: str = "+34600111222") -> None:
    """The engine's and the ACD's facts arrive as typed events on the bus."""
    await store.call_started(info(call_id, caller), flow="support", language="es")
    store.publish(NodeEntered(call_id=call_id, flow="support", node="main", node_kind="menu"))
    store.publish(InputReceived(call_id=call_id, node="main", mode="speech", digits="", transcript="agente",
                                confidence=0.82, key="0", engine="vosk"))
    bus.publish(QueueJoined(call_id=call_id, queue="general", position=3, ewt_seconds=60.0))
    bus.publish(AgentConnected(agent_id="a7", call_id=call_id, queue="general", waited_seconds=42.5,
                               ring_seconds=2.0))
    bus.publish(QueueLeft(call_id=call_id, queue="general", outcome="connected", waited_seconds=42.5, position=1,
                          agent_id="a7", talk_seconds=30.0))


async def test_call_with_timeline_is_recorded(database: Database) -> None:
    bus = EventBus()
    store = CallStore(database, bus)
    await run_queued_call(store, bus, "1700000000.1")
    await store.call_ended("1700000000.1", Disposition.CONNECTED, language="en")

    record = await store.get_call("1700000000.1")
    assert record is not None
    assert (record.caller, record.dialled, record.backend, record.flow) == (
        "+34600111222", "900100200", "agi", "support")
    assert record.linked_id == "L-1700000000.1"
    assert record.language == "en"
    assert record.disposition == "connected"
    assert (record.queue, record.waited_seconds, record.agent_id) == ("general", 42.5, "a7")
    assert record.ended_at is not None and record.ended_at >= record.started_at
    assert [e.kind for e in record.events] == [
        "node_entered", "input", "queue_joined", "agent_connected", "queue_left"
    ]
    assert [e.seq for e in record.events] == [1, 2, 3, 4, 5]
    assert record.events[1].data == {"mode": "speech", "digits": "", "transcript": "agente", "key": "0",
                                     "confidence": 0.82, "engine": "vosk"}
    assert record.events[0].node == "main"
    assert record.events[2].node == "queue:general"
    as_dict = record.to_dict()
    assert as_dict["events"][4]["data"] == {"queue": "general", "outcome": "connected", "waited_seconds": 42.5,
                                            "waited_this_call_seconds": 42.5, "position": 1, "agent_id": "a7",
                                            "talk_seconds": 30.0}
    assert record.to_dict(mask=True)["caller"] != "+34600111222"


async def test_each_fact_reaches_the_bus_once(sqlite_db: Database) -> None:
    bus = EventBus()
    with bus.subscribe() as sub:
        store = CallStore(sqlite_db, bus)
        await store.call_started(info("c-bus"), flow="support", language="es")
        store.publish(NodeEntered(call_id="c-bus", flow="support", node="lang", node_kind="menu"))
        store.publish(NoInput(call_id="c-bus", node="lang"))
        store.publish(InputReceived(call_id="c-bus", node="lang", mode="dtmf", digits="1"))
        store.publish(PromptPlayed(call_id="c-bus", node="lang", prompt="es/greeting"))
        await store.call_ended("c-bus", Disposition.COMPLETED)
        events = []
        while (e := sub.get_nowait()) is not None:
            events.append(e)
    # nothing republished: the recorder's rows come from these same events
    assert [type(e) for e in events] == [CallStarted, NodeEntered, NoInput, InputReceived, PromptPlayed, CallEnded]
    record = await store.get_call("c-bus")
    assert record is not None
    assert [e.kind for e in record.events] == ["node_entered", "no_input", "input", "prompt_played"]
    assert isinstance(events[0], CallStarted) and events[0].flow == "support"
    node = events[1]
    assert isinstance(node, NodeEntered) and (node.node, node.node_kind, node.flow) == ("lang", "menu", "support")
    no_input, key = events[2], events[3]
    assert isinstance(no_input, InputReceived) and (no_input.mode, no_input.matched) == ("none", False)
    assert isinstance(key, InputReceived) and (key.mode, key.matched) == ("dtmf", True)
    ended = events[5]
    assert isinstance(ended, CallEnded) and ended.disposition == "completed" and ended.duration_seconds >= 0


async def test_list_calls_newest_first_with_filters(database: Database) -> None:
    store = CallStore(database, EventBus())
    base = datetime.now(UTC) - timedelta(hours=1)
    for i, caller in enumerate(["+34600000001", "+34600000002", "+34600000001"]):
        await store.call_started(info(f"c{i}", caller, base + timedelta(minutes=i)), flow="support", language="es")
        await store.call_ended(f"c{i}", Disposition.COMPLETED)
    assert [r.call_id for r in await store.list_calls()] == ["c2", "c1", "c0"]
    assert [r.call_id for r in await store.list_calls(limit=2)] == ["c2", "c1"]
    assert [r.call_id for r in await store.list_calls(caller="+34600000001")] == ["c2", "c0"]
    assert [r.call_id for r in await store.list_calls(since=base + timedelta(seconds=30))] == ["c2", "c1"]
    assert [r.call_id for r in await store.calls_for_number("+34600000002", 10)] == ["c1"]
    assert await store.get_call("nope") is None


async def _insert_ended(db: Database, call_id: str, caller: str, *, ended_ago: timedelta, disposition: Disposition,
                        queue: str | None = None, waited: float | None = None, agent: str | None = None) -> None:
    ended = datetime.now(UTC) - ended_ago
    async with db.session() as s:
        s.add(CallRow(call_id=call_id, caller=caller, dialled="900", backend="agi", flow="support", language="es",
                      started_at=ended - timedelta(minutes=3), ended_at=ended, disposition=disposition.value,
                      queue=queue, waited_seconds=waited, agent_id=agent))


async def test_recent_unresolved_finds_an_abandon_in_the_window(database: Database) -> None:
    store = CallStore(database, EventBus())
    caller = "+34600999888"
    assert await store.recent_unresolved(caller, within_minutes=120) is None
    await _insert_ended(database, "old", caller, ended_ago=timedelta(hours=5), disposition=Disposition.ABANDONED,
                        queue="support", waited=300)
    assert await store.recent_unresolved(caller, within_minutes=120) is None  # outside the window
    await _insert_ended(database, "ab", caller, ended_ago=timedelta(minutes=30), disposition=Disposition.ABANDONED,
                        queue="billing", waited=95.0)
    await _insert_ended(database, "later", caller, ended_ago=timedelta(minutes=10),
                        disposition=Disposition.COMPLETED)  # an order-status call since: not a resolution
    contact = await store.recent_unresolved(caller, within_minutes=120)
    assert contact is not None
    assert (contact.call_id, contact.queue, contact.waited_seconds, contact.disposition) == (
        "ab", "billing", 95.0, Disposition.ABANDONED)
    assert await store.recent_unresolved("+34600000000", within_minutes=120) is None  # another caller


async def test_recent_unresolved_hangup_after_queue_counts_hangup_in_menu_does_not(database: Database) -> None:
    store = CallStore(database, EventBus())
    await _insert_ended(database, "menu", "+34611", ended_ago=timedelta(minutes=5),
                        disposition=Disposition.CALLER_HANGUP)
    assert await store.recent_unresolved("+34611", within_minutes=60) is None
    await _insert_ended(database, "queued", "+34622", ended_ago=timedelta(minutes=5),
                        disposition=Disposition.CALLER_HANGUP, queue="support", waited=20)
    contact = await store.recent_unresolved("+34622", within_minutes=60)
    assert contact is not None and contact.disposition is Disposition.CALLER_HANGUP


async def test_recent_unresolved_none_once_an_agent_was_reached(database: Database) -> None:
    store = CallStore(database, EventBus())
    caller = "+34600777666"
    await _insert_ended(database, "ab", caller, ended_ago=timedelta(minutes=40), disposition=Disposition.ABANDONED,
                        queue="support", waited=60)
    await _insert_ended(database, "ok", caller, ended_ago=timedelta(minutes=20), disposition=Disposition.CONNECTED,
                        queue="support", waited=30, agent="a1")
    assert await store.recent_unresolved(caller, within_minutes=120) is None


async def test_acd_events_of_calls_it_does_not_record_are_not_written(database: Database) -> None:
    """A callback's call (``callback:<id>``) or another recorder's call is not this store's: its
    events leave no row behind (a row without its call would be refused by the database)."""
    bus = EventBus()
    store = CallStore(database, bus)
    bus.publish(AgentConnected(agent_id="a1", call_id="callback:cb-1", queue="support"))
    bus.publish(QueueJoined(call_id="nobody", queue="support", position=1, ewt_seconds=None))
    await store.writer.flush()
    assert store.writer.dropped_rows == 0 and store.writer.failed_flushes == 0
    async with database.session() as s:
        assert (await s.scalars(select(CallEventRow.call_id))).all() == []


async def test_recorded_abandon_feeds_recent_unresolved(database: Database) -> None:
    bus = EventBus()
    store = CallStore(database, bus)
    caller = "+34600555444"
    await store.call_started(info("live-1", caller), flow="support", language="es")
    # a returning caller: 20 s of credit from the earlier call, 50 s in line this time
    bus.publish(QueueLeft(call_id="live-1", queue="support", outcome="abandoned", waited_seconds=50.0,
                          credit_seconds=20.0, position=2))
    await store.call_ended("live-1", Disposition.ABANDONED)
    contact = await store.recent_unresolved(caller, within_minutes=5)
    assert contact is not None and contact.queue == "support" and contact.waited_seconds == 70


async def test_background_writer_batches_and_call_end_is_durable(sqlite_db: Database) -> None:
    store = CallStore(sqlite_db, EventBus())
    calls, events_per_call = 40, 25
    started = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(store.run(started))
        await started.wait()

        async def one_call(n: int) -> None:
            cid = f"b{n}"
            await store.call_started(info(cid, f"+3460000{n:04d}"), flow="support", language="es")
            for i in range(events_per_call):
                store.publish(PromptPlayed(call_id=cid, node="n", prompt=f"es/p{i}"))
                await asyncio.sleep(0)  # interleave the calls as a live server would
            await store.call_ended(cid, Disposition.COMPLETED)
            record = await store.get_call(cid)  # visible as soon as call_ended returned
            assert record is not None and record.disposition == "completed"
            assert len(record.events) == events_per_call

        async with asyncio.TaskGroup() as calls_group:
            for n in range(calls):
                calls_group.create_task(one_call(n))
        runner.cancel()
    total_rows = calls * (events_per_call + 2)
    # Far fewer transactions than rows written (one per flush, not one per event).
    assert 0 < store.writer.flushes < total_rows / 10
    assert store.writer.pending == 0


async def test_database_outage_never_breaks_the_call_and_records_survive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'not-migrated.db'}"
    db = Database(url)  # no tables: every write fails like a database outage would
    try:
        bus = EventBus()
        store = CallStore(db, bus)
        with caplog.at_level(logging.ERROR, logger="ivr.calls"):
            await run_queued_call(store, bus, "outage-1")
            await store.call_ended("outage-1", Disposition.CONNECTED)  # must not raise
        assert any("cannot write call records" in r.getMessage() for r in caplog.records)
        assert store.writer.failed_flushes >= 1
        assert store.writer.pending > 0  # kept for the next try
        assert await store.recent_unresolved("+34600111222", within_minutes=10) is None  # fails open

        await upgrade_async(url)  # the database comes back
        record = await store.get_call("outage-1")
        assert record is not None and record.disposition == "connected" and len(record.events) == 5
        assert record.agent_id == "a7"
    finally:
        await db.dispose()


async def test_invalid_row_does_not_block_the_others(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    first = CallStore(database, EventBus())
    await first.call_started(info("dup"), flow="support", language="es")
    await first.call_ended("dup", Disposition.COMPLETED)
    second = CallStore(database, EventBus())  # e.g. a restarted server seeing the same id again
    with caplog.at_level(logging.ERROR, logger="ivr.calls"):
        await second.call_started(info("dup"), flow="support", language="es")
        await second.call_started(info("fresh"), flow="support", language="es")
        second.publish(NodeEntered(call_id="fresh", flow="support", node="start", node_kind="menu"))
        await second.call_ended("fresh", Disposition.COMPLETED)
    assert second.writer.dropped_rows == 1
    fresh = await second.get_call("fresh")
    assert fresh is not None and fresh.disposition == "completed" and len(fresh.events) == 1


async def test_purge_applies_retention(database: Database) -> None:
    store = CallStore(database, EventBus())
    await _insert_ended(database, "old", "+34600", ended_ago=timedelta(days=100), disposition=Disposition.COMPLETED)
    async with database.session() as s:
        s.add(CallEventRow(call_id="old", seq=1, at=datetime.now(UTC) - timedelta(days=100), kind="input"))
    await store.call_started(info("live"), flow="support", language="es")  # not ended: never purged
    store.publish(NodeEntered(call_id="live", flow="support", node="start", node_kind="menu"))
    await _insert_ended(database, "recent", "+34600", ended_ago=timedelta(days=2), disposition=Disposition.COMPLETED)
    assert await store.purge(datetime.now(UTC) - timedelta(days=90)) == 1
    assert await store.get_call("old") is None
    assert {r.call_id for r in await store.list_calls()} == {"live", "recent"}
    async with database.session() as s:
        remaining = (await s.scalars(select(CallEventRow.call_id))).all()
    assert remaining == ["live"]


async def test_odd_values_never_reach_the_database_as_errors(database: Database) -> None:
    store = CallStore(database, EventBus())
    await store.call_started(info("odd"), flow="support", language="es")
    # NaN is null (PostgreSQL's JSON refuses NaN): one odd value cannot fail a whole batch
    store.publish(InputReceived(call_id="odd", node="m", mode="speech", confidence=float("nan")))
    await store.call_ended("odd", Disposition.COMPLETED)
    record = await store.get_call("odd")
    assert record is not None and store.writer.dropped_rows == 0
    assert [e.kind for e in record.events] == ["input"]
    assert record.events[0].data is not None and record.events[0].data["confidence"] is None
