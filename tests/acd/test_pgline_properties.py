"""Property: the shared line on PostgreSQL makes exactly the single-node router's decisions.

Random event sequences (joins, callbacks with earlier arrivals, leaves, agent state changes,
answers, no-answers, contacts ending, callbacks taking their agent, time passing through wrap-ups)
are applied to a :class:`MemoryLine` (today's router) and to a :class:`PgLine`; after every event
both made the same offers to the same owners and the same agent changes, and at the end both lines
are the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.acd.line import LineAgent, LineResult, MemoryLine, NewEntry
from ivr.acd.pgline import PgLine
from ivr.acd.types import AgentState, EntryKind, StateReason
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = {"billing": {"billing": 1}, "support": {"support": 2}, "general": {}}
AGENTS = [LineAgent("a1", "PJSIP/a1", {"billing": 1, "support": 2}), LineAgent("a2", "PJSIP/a2", {"support": 2}),
          LineAgent("a3", "PJSIP/a3", {"billing": 2}), LineAgent("a4", "PJSIP/a4", {})]
OWNERS = ["n1:a", "n2:b", "n3:c"]
STATES = [AgentState.AVAILABLE] * 4 + [AgentState.AWAY, AgentState.OFFLINE, AgentState.WRAP_UP, AgentState.BUSY]

events = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.floats(0, 40)),
    st.tuples(st.just("join"), st.sampled_from(sorted(QUEUES)), st.integers(0, 2), st.sampled_from(OWNERS)),
    st.tuples(st.just("callback"), st.sampled_from(sorted(QUEUES)), st.floats(0, 600), st.sampled_from(OWNERS)),
    st.tuples(st.just("leave"), st.integers(0, 50)),
    st.tuples(st.just("state"), st.sampled_from([a.agent_id for a in AGENTS]), st.sampled_from(STATES)),
    st.tuples(st.just("answer"), st.integers(0, 50)),
    st.tuples(st.just("no_answer"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("end"), st.integers(0, 50), st.sampled_from([0.0, 5.0])),
    st.tuples(st.just("take"), st.integers(0, 50)),
), max_size=30)


def _shape(r: LineResult) -> tuple[object, ...]:
    return (tuple((o.assignment, o.owner) for o in r.offers), tuple(r.changes))


class Pair:
    """The same event applied to both lines; targets are picked from the single-node state."""

    def __init__(self, memory: MemoryLine, shared: PgLine) -> None:
        self.memory, self.shared = memory, shared
        self.now = T0
        self.count = 0

    def _pick(self, index: int, offered: bool | None) -> str | None:
        entries = sorted(self.memory.router.entries.values(), key=lambda e: e.seq)
        if offered is not None:
            entries = [e for e in entries if (e.agent_id is not None) == offered]
        return entries[index % len(entries)].entry_id if entries else None

    async def apply(self, event: tuple[object, ...]) -> None:
        kind, *args = event
        at = self.now
        op: tuple[str, tuple[object, ...], dict[str, object]] | None = None
        if kind == "advance":
            self.now += timedelta(seconds=float(args[0]))  # type: ignore[arg-type]
            op = ("dispatch", (), {"at": self.now})
        elif kind in ("join", "callback"):
            self.count += 1
            queue, extra, owner = args
            if kind == "join":
                entry = NewEntry(f"c{self.count}", str(queue), at, str(owner), priority=int(extra))  # type: ignore[call-overload]
            else:
                entry = NewEntry(f"callback:{self.count}", str(queue), at - timedelta(seconds=float(extra)),  # type: ignore[arg-type]
                                 str(owner), kind=EntryKind.CALLBACK)
            op = ("join", (entry,), {"at": at})
        elif kind == "leave" and (eid := self._pick(int(args[0]), None)):  # type: ignore[call-overload]
            op = ("leave", (eid,), {"at": at})
        elif kind == "state":
            op = ("set_state", (str(args[0]), args[1]), {"at": at, "reason": StateReason.ADMIN})
        elif kind == "answer" and (eid := self._pick(int(args[0]), True)):  # type: ignore[call-overload]
            op = ("answered", (eid,), {"at": at})
        elif kind == "no_answer" and (eid := self._pick(int(args[0]), True)):  # type: ignore[call-overload]
            op = ("no_answer", (eid,), {"at": at, "unreachable": bool(args[1])})
        elif kind == "take" and (eid := self._pick(int(args[0]), True)):  # type: ignore[call-overload]
            op = ("take", (eid,), {"at": at})
        elif kind == "end":
            talking = sorted(a.agent_id for a in self.memory.router.agents.values()
                             if a.contact is not None and a.contact not in self.memory.router.entries
                             and a.state is AgentState.BUSY)
            if talking:
                agent_id = talking[int(args[0]) % len(talking)]  # type: ignore[call-overload]
                op = ("end_contact", (agent_id,), {"at": at, "wrap_up_seconds": float(args[1])})  # type: ignore[arg-type]
        if op is None:
            return
        name, pos, kw = op
        single = await getattr(self.memory, name)(*pos, **kw)
        shared = await getattr(self.shared, name)(*pos, **kw)
        assert _shape(shared) == _shape(single), f"after {event}"


@pytest.mark.timeout(600)
def test_the_shared_line_makes_the_single_node_routers_decisions() -> None:
    require_postgres()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_run())
    finally:
        loop.close()


async def _run() -> None:
    async with postgres_database() as db:
        shared = await PgLine.connect(db.url, owner="n1:a", max_size=1)
        try:
            await _examples(shared)
        finally:
            await shared.aclose()


async def _examples(shared: PgLine) -> None:
    loop = asyncio.get_running_loop()
    results: list[BaseException] = []

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(events)
    def check(sequence: list[tuple[object, ...]]) -> None:
        fut = asyncio.run_coroutine_threadsafe(_example(shared, sequence), loop)
        fut.result(timeout=120)

    try:
        await asyncio.to_thread(check)
    except AssertionError as exc:  # hypothesis re-raises the shrunk failure here
        results.append(exc)
    assert not results, results[0]


async def _example(shared: PgLine, sequence: list[tuple[object, ...]]) -> None:
    async with shared.pool.acquire() as conn:
        await conn.execute("TRUNCATE acd_line_entries, acd_line_agents, acd_line_queues")
    memory = MemoryLine()
    for line in (memory, shared):
        await line.configure(QUEUES, AGENTS, at=T0)
    pair = Pair(memory, shared)
    for event in sequence:
        await pair.apply(event)
    mine, theirs = await memory.snapshot(), await shared.snapshot()
    # The join order numbers differ (the shared line counts from its live entries), not the order.
    assert [replace(e, seq=0) for e in theirs.entries] == [replace(e, seq=0) for e in mine.entries]
    assert theirs.agents == mine.agents
