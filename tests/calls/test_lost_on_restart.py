"""Startup reconciliation (ivr.nodes): calls a dead process left open are closed as
``lost_on_restart`` at the time it died and counted; a live node's calls are never touched; agents
the dead process had offered a call come back available and the stale waiting list is cleared."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from datetime import timedelta

from sqlalchemy import insert, select, update

from ivr.acd.models import AgentRow, WaitingRow
from ivr.acd.runtime import AcdRuntime
from ivr.acd.store import AcdStore
from ivr.acd.types import AgentState, StateReason
from ivr.calls.models import CallEventRow, CallRow
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.events.types import CallsLostOnRestart, Event
from ivr.nodes.models import NodeRow
from ivr.nodes.service import NodeHeartbeat, NodeIdentity, NodeStore
from ivr.observability.metrics import Metrics
from ivr.settings import NodeSettings
from tests.support.acd_fakes import make_service

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
SETTINGS = NodeSettings(id="node-a", heartbeat_seconds=5.0, stale_after_seconds=30.0)


async def node_row(db: Database, owner: str, node: str, *, last_seen: timedelta, stopped: bool = False,
                   host: str = "h", pid: int = 1) -> None:
    async with db.session() as s:
        seen = T0 + last_seen
        s.add(NodeRow(owner=owner, node=node, host=host, pid=pid, started_at=T0, last_seen=seen,
                      stopped_at=seen if stopped else None))


def a_finished_pid() -> int:
    """The pid of a process of this host that has ended (what a SIGKILLed server leaves)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


async def open_call(db: Database, call_id: str, owner: str | None, *,
                    events: list[tuple[timedelta, str, dict[str, str] | None]] | None = None) -> None:
    async with db.session() as s:
        await s.execute(insert(CallRow).values(
            call_id=call_id, caller="+34600111222", dialled="100", backend="agi", flow="main", language="es",
            started_at=T0, owner=owner))
        for seq, (offset, kind, data) in enumerate(events or [], start=1):
            s.add(CallEventRow(call_id=call_id, seq=seq, at=T0 + offset, kind=kind, data=data))


async def call(db: Database, call_id: str) -> CallRow:
    async with db.session() as s:
        row = (await s.execute(select(CallRow).where(CallRow.call_id == call_id))).scalar_one()
        s.expunge(row)
        return row


def beat(db: Database, me: NodeIdentity, bus: EventBus) -> NodeHeartbeat:
    return NodeHeartbeat(NodeStore(db), me, bus, SETTINGS, clock=lambda: T0 + timedelta(minutes=10))


async def test_a_dead_nodes_calls_are_closed_at_its_last_heartbeat(database: Database) -> None:
    await node_row(database, "node-b:dead", "node-b", last_seen=timedelta(seconds=95))  # stale: 9+ min ago
    await node_row(database, "node-c:live", "node-c", last_seen=timedelta(minutes=9, seconds=50))  # fresh
    await open_call(database, "on-hold", "node-b:dead", events=[
        (timedelta(seconds=20), "queue_joined", {"queue": "support"}),
        (timedelta(seconds=80), "position_announced", None)])
    await open_call(database, "late-event", "node-b:dead", events=[(timedelta(seconds=97), "node_entered", None)])
    await open_call(database, "live-one", "node-c:live")
    await open_call(database, "before-owners", None)  # written before calls had owners: nobody's to close
    bus, seen = EventBus(), list[Event]()
    bus.add_listener(seen.append)
    metrics = Metrics()
    bus.add_listener(metrics.observe)
    heartbeat = beat(database, NodeIdentity("node-a", "node-a:me"), bus)
    done = await heartbeat.reconcile()
    assert [(r.owner, r.calls, r.died_at) for r in done] == [("node-b:dead", 2, T0 + timedelta(seconds=95))]
    held = await call(database, "on-hold")
    assert (held.disposition, held.queue, held.ended_at) == ("lost_on_restart", "support", T0 + timedelta(seconds=95))
    assert held.waited_seconds == 75.0  # joined at 20 s, lost at 95 s: the caller's credit when they call again
    late = await call(database, "late-event")  # it wrote an event after its last beat: that is later
    assert late.ended_at == T0 + timedelta(seconds=97) and late.disposition == "lost_on_restart"
    for untouched in ("live-one", "before-owners"):
        row = await call(database, untouched)
        assert (row.ended_at, row.disposition) == (None, None)
    lost = [e for e in seen if isinstance(e, CallsLostOnRestart)]
    assert [(e.owner, e.count) for e in lost] == [("node-b:dead", 2)]
    assert metrics.registry.get_sample_value("puente_calls_lost_on_restart_total") == 2.0
    assert await heartbeat.reconcile() == []  # once only
    store = NodeStore(database)
    assert await store.prune(before=T0 + timedelta(minutes=10)) == 0  # reconciled just now: kept
    assert await store.prune(before=T0 + timedelta(minutes=10, seconds=1)) == 1


async def test_the_same_node_restarted_closes_its_previous_incarnation_at_once(database: Database) -> None:
    """A restart comes long before the old heartbeat is stale: the previous incarnation of this node
    on this host whose process is gone is dead at once; a clean stop's row counts too, at the time it
    stopped."""
    await node_row(database, "node-a:before", "node-a", last_seen=timedelta(minutes=9, seconds=58),
                   host=socket.gethostname(), pid=a_finished_pid())
    await node_row(database, "node-d:stopped", "node-d", last_seen=timedelta(minutes=9, seconds=59), stopped=True)
    await open_call(database, "c1", "node-a:before")
    await open_call(database, "c2", "node-d:stopped")
    done = await beat(database, NodeIdentity("node-a", "node-a:now"), EventBus()).reconcile()
    assert sorted((r.owner, r.calls) for r in done) == [("node-a:before", 1), ("node-d:stopped", 1)]
    assert (await call(database, "c1")).ended_at == T0 + timedelta(minutes=9, seconds=58)


async def test_a_second_live_process_with_the_same_node_id_is_left_alone(database: Database) -> None:
    """A second `ivr serve` started by mistake (same node id, same host, its process running) must
    not close the first one's live calls; neither must one on another host before it goes stale."""
    await node_row(database, "node-a:running", "node-a", last_seen=timedelta(minutes=9, seconds=58),
                   host=socket.gethostname(), pid=os.getpid())
    await node_row(database, "node-a:elsewhere", "node-a", last_seen=timedelta(minutes=9, seconds=58))
    await open_call(database, "c1", "node-a:running")
    await open_call(database, "c2", "node-a:elsewhere")
    assert await beat(database, NodeIdentity("node-a", "node-a:now"), EventBus()).reconcile() == []
    assert (await call(database, "c1")).ended_at is None and (await call(database, "c2")).ended_at is None


async def test_two_nodes_reconciling_at_once_close_each_call_once(database: Database) -> None:
    await node_row(database, "node-b:dead", "node-b", last_seen=timedelta(seconds=1))
    for i in range(5):
        await open_call(database, f"c{i}", "node-b:dead")
    first = beat(database, NodeIdentity("node-a", "node-a:1"), EventBus())
    second = beat(database, NodeIdentity("node-c", "node-c:1"), EventBus())
    results = await asyncio.gather(first.reconcile(), second.reconcile())
    assert sorted(r.calls for found in results for r in found) == [5]


async def test_heartbeat_registers_beats_and_records_a_clean_stop(sqlite_db: Database) -> None:
    me = NodeIdentity.new("node-x")
    assert me.node == "node-x" and me.owner.startswith("node-x:")
    heartbeat = NodeHeartbeat(NodeStore(sqlite_db), me, EventBus(),
                              NodeSettings(id="node-x", heartbeat_seconds=0.05))
    started = asyncio.Event()
    task = asyncio.create_task(heartbeat.run(started))
    try:
        await asyncio.wait_for(started.wait(), 5)
        async with sqlite_db.session() as s:
            first = (await s.execute(select(NodeRow.last_seen).where(NodeRow.owner == me.owner))).scalar_one()
        async with asyncio.timeout(5):  # it beats
            while True:
                async with sqlite_db.session() as s:
                    seen = (await s.execute(select(NodeRow.last_seen).where(NodeRow.owner == me.owner))).scalar_one()
                if seen > first:
                    break
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await heartbeat.aclose()
    async with sqlite_db.session() as s:
        row = (await s.execute(select(NodeRow).where(NodeRow.owner == me.owner))).scalar_one()
    assert row.stopped_at is not None and row.reconciled_at is None


async def test_agents_offered_by_the_dead_process_come_back_available(database: Database) -> None:
    store = AcdStore(database)
    first = make_service(store=store, with_prompts=False)
    await first.load()
    async with database.session() as s:  # what the killed process left: a1 ringing for a call, a2 in a call
        await s.execute(update(AgentRow).where(AgentRow.id == "a1").values(
            state=AgentState.RINGING.value, state_reason=StateReason.OFFER.value))
        await s.execute(update(AgentRow).where(AgentRow.id == "a2").values(
            state=AgentState.BUSY.value, state_reason=StateReason.CONTACT.value))
        s.add(WaitingRow(entry_id="e1", queue="support", kind="call", call_id="gone", arrival=T0, priority=0,
                         position=1, ewt_seconds=None, agent_id="a1", updated_at=T0))
    restarted = make_service(store=store, with_prompts=False)
    await restarted.load()
    await AcdRuntime(restarted, store).flush()  # what the runtime does right after load at start
    assert {v.agent_id: (v.state, v.reason) for v in await store.agents()} == {
        "a1": (AgentState.AVAILABLE, StateReason.ADMIN), "a2": (AgentState.AVAILABLE, StateReason.ADMIN)}
    assert await store.waiting() == []
