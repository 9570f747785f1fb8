"""The shared line on the real PostgreSQL: several nodes, one contact centre.

Each "node" is a :class:`PgLine` with its own connection pool and owner id (and, for the SIGKILL
cases, its own process). Asserted: one global order per queue, at most one offer per agent,
state changes seen by other nodes within 1 s, positions counting every node's callers, callbacks
keeping their place, and a dead node's entries and offers released within the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.acd.line import LineAgent, NewEntry
from ivr.acd.pgline import Offer, PgLine
from ivr.acd.pgwake import LineLease, LineListener
from ivr.acd.types import AgentState, EntryKind
from ivr.db import utcnow
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = {"support": {"support": 1}, "billing": {"billing": 1}}
AGENTS = [LineAgent(f"a{i}", f"PJSIP/a{i}", {"support": 1, "billing": 1}) for i in range(1, 4)]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    require_postgres()
    async with postgres_database() as db:
        yield db.url


@pytest.fixture
async def nodes(pg_url: str) -> AsyncIterator[list[PgLine]]:
    lines = [await PgLine.connect(pg_url, owner=f"n{i}:inc{i}", lease_seconds=1.0) for i in range(1, 4)]
    await lines[0].configure(QUEUES, AGENTS, at=T0)
    try:
        yield lines
    finally:
        for line in lines:
            await line.aclose()


async def test_one_global_order_across_nodes_and_never_two_offers_for_one_agent(nodes: list[PgLine]) -> None:
    # 45 callers join concurrently on three nodes, arrivals shuffled against the join order.
    arrivals = [(i * 7) % 45 for i in range(45)]
    await asyncio.gather(*(
        nodes[i % 3].join(NewEntry(f"c{arr:02d}", "support", T0 + timedelta(seconds=arr), nodes[i % 3].owner,
                                   priority=1 if arr % 10 == 0 else 0), at=T0)
        for i, arr in enumerate(arrivals)))
    expected = sorted((f"c{a:02d}" for a in arrivals), key=lambda e: (0 if int(e[1:]) % 10 == 0 else 1, e))
    snap = await nodes[1].snapshot()
    assert [e.entry_id for e in snap.entries] == expected

    # Three agents become free on three nodes at once; each serves until the line is empty, the
    # contact's answer and end coming from the node that owns the entry.
    served: list[str] = []
    now = T0 + timedelta(minutes=5)
    first = await asyncio.gather(*(nodes[i].set_state(a.agent_id, AgentState.AVAILABLE, at=now)
                                   for i, a in enumerate(AGENTS)))
    pending: list[Offer] = [o for r in first for o in r.offers]
    by_owner = {n.owner: n for n in nodes}
    while pending:
        held = [o.assignment.agent_id for o in pending]
        assert len(held) == len(set(held)), f"an agent offered twice at once: {held}"
        offered = [e for e in (await nodes[0].snapshot()).entries if e.agent_id is not None]
        assert len({e.agent_id for e in offered}) == len(offered)
        results = []
        for offer in pending:
            node = by_owner[offer.owner]
            served.append(offer.assignment.entry_id)
            await node.answered(offer.assignment.entry_id, at=now)
            results.append(node.end_contact(offer.assignment.agent_id, at=now, wrap_up_seconds=0))
        pending = [o for r in await asyncio.gather(*results) for o in r.offers]
    assert sorted(served) == sorted(expected) and len(served) == len(set(served))
    # Offers were made three at a time, each round taking the line's next three in order.
    for start in range(0, len(expected), 3):
        assert sorted(served[start:start + 3]) == sorted(expected[start:start + 3])
    assert (await nodes[2].snapshot()).entries == ()


async def test_an_agent_state_change_on_one_node_reaches_the_others_within_a_second(
        nodes: list[PgLine], pg_url: str) -> None:
    seen: dict[str, asyncio.Event] = {"n1": asyncio.Event(), "n3": asyncio.Event()}
    def watcher(key: str) -> Callable[[list[str] | None], None]:
        def changed(ids: list[str] | None) -> None:
            if ids and "a2" in ids:
                seen[key].set()
        return changed

    listeners = [LineListener(pg_url, on_offer=lambda _o: None, on_agents=watcher(key)) for key in seen]
    for listener in listeners:
        await listener.start()
    try:
        await nodes[1].set_state("a2", AgentState.AWAY, at=T0)
        async with asyncio.timeout(1.0):
            await asyncio.gather(*(e.wait() for e in seen.values()))
    finally:
        for listener in listeners:
            await listener.aclose()
    assert {a.agent_id: a.state for a in (await nodes[2].snapshot()).agents}["a2"] is AgentState.AWAY


async def test_the_offer_reaches_the_node_that_owns_the_entry(nodes: list[PgLine], pg_url: str) -> None:
    got: asyncio.Queue[Offer] = asyncio.Queue()
    listener = LineListener(pg_url, on_offer=got.put_nowait, on_agents=lambda _ids: None)
    await listener.start()
    try:
        await nodes[2].join(NewEntry("x1", "billing", T0, nodes[2].owner), at=T0)
        await nodes[0].set_state("a1", AgentState.AVAILABLE, at=T0)  # the agent is freed on another node
        async with asyncio.timeout(1.0):
            offer = await got.get()
    finally:
        await listener.aclose()
    assert (offer.owner, offer.assignment.entry_id, offer.assignment.agent_id) == (nodes[2].owner, "x1", "a1")
    assert await nodes[1].offer_for("x1") == offer


async def test_positions_count_every_nodes_callers_and_a_callback_keeps_its_place(nodes: list[PgLine]) -> None:
    for i in range(6):
        await nodes[i % 3].join(NewEntry(f"c{i}", "support", T0 + timedelta(seconds=10 + i), nodes[i % 3].owner),
                                at=T0)
    await nodes[1].join(NewEntry("callback:1", "support", T0 + timedelta(seconds=12.5), nodes[1].owner,
                                 kind=EntryKind.CALLBACK), at=T0)
    assert [await nodes[0].position(e) for e in ("c0", "c2", "callback:1", "c3", "c5")] == [1, 3, 4, 5, 7]
    snap = await nodes[2].snapshot()
    assert [snap.position(e.entry_id) for e in snap.entries] == [await nodes[1].position(e.entry_id)
                                                                  for e in snap.entries] == list(range(1, 8))
    assert await nodes[0].position("nobody") is None


def _spawn_node(url: str, owner: str, entries: int, lease: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.line_node", url, owner, str(entries), str(lease)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the node has joined its callers (or died)
    assert line.strip() == "ready", f"node {owner} did not start: {line!r}"
    return proc


async def _until(predicate_coro, timeout: float) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate_coro():
            await asyncio.sleep(0.1)


async def test_a_sigkilled_node_loses_nothing_else_and_its_agent_is_freed_within_the_lease(
        nodes: list[PgLine], pg_url: str) -> None:
    survivor = nodes[1]
    dead = await asyncio.to_thread(_spawn_node, pg_url, "doomed:inc1", 4, 1.0)
    keeper = asyncio.create_task(LineLease(survivor, utcnow).run(asyncio.Event()))  # the survivor's own lease
    try:
        # The dead node's callers are ahead (earlier arrivals); the survivor's come after.
        for i in range(3):
            await survivor.join(NewEntry(f"s{i}", "support", T0 + timedelta(seconds=100 + i), survivor.owner), at=T0)
        offer = (await survivor.set_state("a1", AgentState.AVAILABLE, at=T0)).offers[0]
        assert (offer.owner, offer.assignment.entry_id) == ("doomed:inc1", "doomed:inc1/0")
        dead.send_signal(signal.SIGKILL)
        await asyncio.to_thread(dead.wait, 5)
        killed_at = asyncio.get_running_loop().time()

        async def released() -> bool:  # the survivor's keeper reaps; we only watch
            return not any(e.owner == "doomed:inc1" for e in (await survivor.snapshot()).entries)

        await _until(released, timeout=10.0)
        assert asyncio.get_running_loop().time() - killed_at <= 10.0
        snap = await survivor.snapshot()
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        if dead.poll() is None:
            dead.kill()
            dead.wait(5)
    # Its callers left the line, the agent it was offering went to the survivor's head caller,
    # and the survivor's callers kept their order.
    assert [e.entry_id for e in snap.entries] == ["s0", "s1", "s2"]
    assert [e.agent_id for e in snap.entries] == ["a1", None, None]
    assert await survivor.offer_for("s0") is not None


async def test_a_node_known_dead_is_reaped_at_once_and_a_live_one_never(pg_url: str) -> None:
    old = await PgLine.connect(pg_url, owner="n1:old", lease_seconds=60.0)
    new = await PgLine.connect(pg_url, owner="n1:new", lease_seconds=60.0)
    other = await PgLine.connect(pg_url, owner="n2:live", lease_seconds=60.0)
    try:
        await old.configure(QUEUES, AGENTS, at=T0)
        await old.join(NewEntry("old1", "support", T0, old.owner), at=T0)
        await other.join(NewEntry("live1", "support", T0 + timedelta(seconds=1), other.owner), at=T0)
        await old.set_state("a1", AgentState.AVAILABLE, at=T0)  # offered to old1, old's offer
        # The same node id again is not taken for dead (the lease runs a minute more)...
        assert (await new.reap(at=T0)).entries == 0
        # ...but an owner the nodes table says is dead is reaped at once.
        reaped = await new.reap(at=T0, dead_owners=["n1:old"])
        assert (reaped.entries, [o.assignment.entry_id for o in reaped.result.offers]) == (1, ["live1"])
        assert [(e.entry_id, e.agent_id) for e in (await new.snapshot()).entries] == [("live1", "a1")]
        assert (await other.reap(at=T0)).entries == 0  # another live node's rows are never touched
    finally:
        for line in (old, new, other):
            await line.aclose()


async def test_a_call_sent_on_to_another_node_keeps_its_place(nodes: list[PgLine]) -> None:
    """The dialplan sends a dead node's caller (same channel: same call id) to the next node:
    their new entry takes the old one's place, and the agent rung for them is offered again."""
    await nodes[0].join(NewEntry("old", "support", T0, nodes[0].owner, call_id="1795.7"), at=T0)
    await nodes[1].join(NewEntry("other", "support", T0 + timedelta(seconds=5), nodes[1].owner), at=T0)
    first = await nodes[2].set_state("a1", AgentState.AVAILABLE, at=T0)
    assert [o.assignment.entry_id for o in first.offers] == ["old"]
    again = await nodes[2].join(NewEntry("again", "support", T0 + timedelta(seconds=30), nodes[2].owner,
                                         call_id="1795.7"), at=T0)
    assert [(o.assignment.entry_id, o.owner) for o in again.offers] == [("again", nodes[2].owner)]
    snap = await nodes[1].snapshot()
    assert [(e.entry_id, e.arrival) for e in snap.entries] == [("again", T0), ("other", T0 + timedelta(seconds=5))]



async def test_an_offer_for_an_entry_id_with_quotes_and_backslashes_arrives_intact(
        nodes: list[PgLine], pg_url: str) -> None:
    got: asyncio.Queue[Offer] = asyncio.Queue()
    listener = LineListener(pg_url, on_offer=got.put_nowait, on_agents=lambda _ids: None)
    await listener.start()
    odd = "callback:o'k\\x\"é"
    try:
        await nodes[0].join(NewEntry(odd, "support", T0, nodes[0].owner), at=T0)
        await nodes[1].set_state("a2", AgentState.AVAILABLE, at=T0)
        async with asyncio.timeout(1.0):
            offer = await got.get()
    finally:
        await listener.aclose()
    assert (offer.assignment.entry_id, offer.assignment.agent_id) == (odd, "a2")
