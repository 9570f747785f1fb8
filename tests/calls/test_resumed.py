"""One call, two legs: a caller the dialplan sent on from a dead node to another (same call id) is
one record, reopened by the node that carries it now, its timeline going on after a ``resumed``
event; the list, ``ivr calls show`` and the desk's history read it as one call."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ivr.calls.models import CallRow
from ivr.calls.store import CallStore
from ivr.channel import Backend, CallInfo
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.events.flow import LanguageSet, VariableSet
from ivr.events.types import AgentConnected, InputReceived, NodeEntered, QueueJoined, QueueLeft
from ivr.nodes.models import NodeRow
from ivr.nodes.service import NodeStore
from ivr.ports import Disposition
from tests.calls.test_cli import _invoke

CALL = "1795.7"


def first_leg() -> CallInfo:
    return CallInfo(call_id=CALL, caller="+34600111222", dialled="900100200", backend=Backend.AGI,
                    started_at=datetime.now(UTC) - timedelta(minutes=2))


def later_leg() -> CallInfo:
    return dataclasses.replace(first_leg(), started_at=datetime.now(UTC), resumed_from=CALL, resumed_queue="billing")


async def dead_node_leg(db: Database) -> None:
    """Node a: menu, a choice, the queue; then it dies (its rows written, the call left open)."""
    a = CallStore(db, EventBus(), owner="a:1")
    await a.call_started(first_leg(), flow="support", language="es")
    a.publish(NodeEntered(call_id=CALL, flow="support", node="main", node_kind="menu"))
    a.publish(LanguageSet(call_id=CALL, node="main", language="en"))
    a.publish(InputReceived(call_id=CALL, node="main", mode="dtmf", digits="2", key="2"))
    a.publish(VariableSet(call_id=CALL, node="need", need="invoice"))
    a.publish(QueueJoined(call_id=CALL, queue="billing", position=4, ewt_seconds=None))
    await a.writer.flush()


async def resumed_leg(db: Database) -> CallStore:
    bus = EventBus()  # the ACD's facts reach the recorder as typed events
    b = CallStore(db, bus, owner="b:1")
    await b.call_started(later_leg(), flow="support", language="es")
    bus.publish(QueueJoined(call_id=CALL, queue="billing", position=1, ewt_seconds=None, credit_seconds=70.0))
    bus.publish(AgentConnected(agent_id="a7", call_id=CALL, queue="billing", waited_seconds=25.0, ring_seconds=1.0))
    bus.publish(QueueLeft(call_id=CALL, queue="billing", outcome="connected", waited_seconds=25.0,
                          credit_seconds=70.0, agent_id="a7"))
    await b.call_ended(CALL, Disposition.CONNECTED)
    return b


async def test_a_resumed_call_is_one_record_with_both_legs(database: Database) -> None:
    await dead_node_leg(database)
    bus = EventBus()
    b = CallStore(database, bus, owner="b:1")
    await b.call_started(later_leg(), flow="support", language="es")
    earlier = await b.earlier_legs(CALL)  # what the engine restores (the screen pop shows it)
    assert earlier is not None
    assert (earlier.path, [i.digits for i in earlier.inputs], earlier.language, earlier.need) == (
        ("main",), ["2"], "en", "invoice")
    bus.publish(QueueLeft(call_id=CALL, queue="billing", outcome="connected", waited_seconds=95.0))
    await b.call_ended(CALL, Disposition.CONNECTED)

    [listed] = await b.list_calls()
    assert (listed.call_id, listed.legs, listed.disposition, listed.waited_seconds) == (CALL, 2, "connected", 95.0)
    record = await b.get_call(CALL)
    assert record is not None and record.started_at == listed.started_at  # the first leg's start
    kinds = [e.kind for e in record.events]
    assert kinds == ["node_entered", "language_set", "input", "variable_set", "queue_joined", "resumed", "queue_left"]
    assert [e.seq for e in record.events] == list(range(1, 8))  # one timeline, in order
    resumed = record.events[5].data or {}
    assert (resumed["leg"], resumed["node"], resumed["previous_owner"]) == (2, "b", "a:1")
    assert record.resumed_on == ("b",) and record.to_dict()["legs"] == 2
    async with database.session() as s:
        assert (await s.scalar(select(CallRow.owner).where(CallRow.call_id == CALL))) == "b:1"


async def test_a_first_leg_closed_as_lost_is_reopened_and_a_resumed_one_is_never_closed(database: Database) -> None:
    now = utcnow()
    async with database.session() as s:
        s.add(NodeRow(owner="a:1", node="a", host="h", pid=1, started_at=now, last_seen=now, stopped_at=None))
    await dead_node_leg(database)
    nodes = NodeStore(database)
    dead = await _node(database)
    # 1) the reconciler got there first: the record says lost_on_restart...
    await nodes.reconcile(dead, now=now)
    closed = await CallStore(database, EventBus()).get_call(CALL)
    assert closed is not None and closed.disposition == "lost_on_restart"
    # ...and the next node reopens it: one call, connected in the end
    await resumed_leg(database)
    record = await CallStore(database, EventBus()).get_call(CALL)
    assert record is not None and (record.disposition, record.legs) == ("connected", 2)
    [resumed] = [e.data for e in record.events if e.kind == "resumed"]
    assert resumed is not None and resumed["previous_disposition"] == "lost_on_restart"


async def test_the_reconciler_leaves_a_call_another_node_resumed(database: Database) -> None:
    now = utcnow()
    async with database.session() as s:
        s.add(NodeRow(owner="a:1", node="a", host="h", pid=1, started_at=now, last_seen=now, stopped_at=None))
    await dead_node_leg(database)
    b = CallStore(database, EventBus(), owner="b:1")
    await b.call_started(later_leg(), flow="support", language="es")  # resumed on b, still going
    await b.writer.flush()
    await NodeStore(database).reconcile(await _node(database), now=now)
    record = await b.get_call(CALL)
    assert record is not None and record.disposition is None and record.ended_at is None


async def test_calls_list_and_show_say_it_was_resumed(sqlite_db: Database) -> None:
    await dead_node_leg(sqlite_db)
    await resumed_leg(sqlite_db)
    listed = await _invoke(sqlite_db, "list")
    assert "(2 legs: resumed on another node)" in listed and "1 calls" in listed
    shown = await _invoke(sqlite_db, "show", CALL)
    assert "legs              2" in shown and "resumed on        b" in shown
    assert " resumed " in shown  # the timeline's event between the legs


async def _node(db: Database) -> NodeRow:
    async with db.session() as s:
        row = await s.get(NodeRow, "a:1")
    assert row is not None
    return row
