"""A dead node's caller keeps their place after its lease ran out (real PostgreSQL): the reaper
takes the entry out of line but keeps it as an orphan for the grace period, and the same call
(same call id) joining on another node gets its arrival and priority back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ivr.acd.line import LineAgent, NewEntry
from ivr.acd.pgline import PgLine, asyncpg_dsn
from ivr.acd.types import EntryKind
from ivr.ports import HeldPlace
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = {"support": {"support": 1}}
AGENTS = [LineAgent("a1", "PJSIP/a1", {"support": 1})]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    require_postgres()
    async with postgres_database() as db:
        yield db.url


async def orphans(url: str) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [r["call_id"] for r in await conn.fetch("SELECT call_id FROM acd_line_orphans ORDER BY call_id")]
    finally:
        await conn.close()


async def test_a_reaped_caller_keeps_their_place_and_takes_it_back_on_another_node(pg_url: str) -> None:
    dead = await PgLine.connect(pg_url, owner="n1:dead", lease_seconds=60.0)
    live = await PgLine.connect(pg_url, owner="n2:live", lease_seconds=60.0)
    try:
        await dead.configure(QUEUES, AGENTS, at=T0)
        await dead.join(NewEntry("old", "support", T0, dead.owner, priority=1, call_id="1795.7"), at=T0)
        await dead.join(NewEntry("cb", "support", T0, dead.owner, kind=EntryKind.CALLBACK, call_id="cb-1"), at=T0)
        await live.join(NewEntry("other", "support", T0 + timedelta(seconds=5), live.owner), at=T0)
        # before the reap the entry is still in line under the dead owner
        assert await live.held_place("1795.7") == HeldPlace("support", T0, 1, True)
        reaped = await live.reap(at=T0, dead_owners=[dead.owner])
        assert reaped.entries == 2
        assert [e.entry_id for e in (await live.snapshot()).entries] == ["other"]
        # the call's place is kept (a callback's is not: its dispatcher takes it over, not a dialplan)
        assert await orphans(pg_url) == ["1795.7"]
        assert await live.held_place("1795.7") == HeldPlace("support", T0, 1, False)
        assert await live.held_place("cb-1") is None
        # the caller comes back on the live node a minute later: at their place, with their priority
        await live.join(NewEntry("again", "support", T0 + timedelta(seconds=60), live.owner, call_id="1795.7"),
                        at=T0)
        entries = (await live.snapshot()).entries
        assert [(e.entry_id, e.arrival, e.priority) for e in entries] == [
            ("again", T0, 1), ("other", T0 + timedelta(seconds=5), 0)]
        assert await orphans(pg_url) == []  # taken back once
        assert await live.held_place("1795.7") is None  # (its own entry now)
    finally:
        await dead.aclose()
        await live.aclose()


async def test_an_orphan_is_forgotten_after_the_grace_period(pg_url: str) -> None:
    dead = await PgLine.connect(pg_url, owner="n1:dead", lease_seconds=60.0)
    live = await PgLine.connect(pg_url, owner="n2:live", lease_seconds=60.0, orphan_grace_seconds=0.3)
    try:
        await dead.configure(QUEUES, AGENTS, at=T0)
        await dead.join(NewEntry("old", "support", T0, dead.owner, priority=1, call_id="1795.9"), at=T0)
        await live.reap(at=T0, dead_owners=[dead.owner])
        assert await orphans(pg_url) == ["1795.9"]
        async with asyncio.timeout(5.0):
            while await live.held_place("1795.9") is not None:
                await asyncio.sleep(0.05)
        await live.reap(at=T0)  # each reap also forgets orphans past the grace
        assert await orphans(pg_url) == []
        later = T0 + timedelta(minutes=20)
        await live.join(NewEntry("again", "support", later, live.owner, call_id="1795.9"), at=T0)
        assert [(e.arrival, e.priority) for e in (await live.snapshot()).entries] == [(later, 0)]
    finally:
        await dead.aclose()
        await live.aclose()


async def test_a_lapsed_lease_orphans_the_entry_too(pg_url: str) -> None:
    """Without anyone saying the node is dead: its lease runs out and any node's reaper orphans it."""
    dead = await PgLine.connect(pg_url, owner="n1:dead", lease_seconds=1.0)
    live = await PgLine.connect(pg_url, owner="n2:live", lease_seconds=60.0)
    try:
        await dead.configure(QUEUES, AGENTS, at=T0)
        await dead.join(NewEntry("old", "support", T0, dead.owner, call_id="1795.8"), at=T0)
        async with asyncio.timeout(5.0):
            while (await live.reap(at=T0)).entries == 0:
                await asyncio.sleep(0.1)
        assert await live.held_place("1795.8") == HeldPlace("support", T0, 0, False)
    finally:
        await dead.aclose()
        await live.aclose()
