"""Benchmark: due callbacks worked by two dispatcher processes on one PostgreSQL.

Creates its own database on 127.0.0.1:5432 (dropped at the end), migrates it, inserts N callbacks
that are all due now, then starts two processes, each with its own engine and connection pool and
one :class:`callbacks.dispatcher.CallbackDispatcher` with a fake dialler (every dial answered at
once) and an ACD whose agent is always free. Prints dials per second, duplicates (a callback
dialled more than once: must be 0), lost (a callback not completed: must be 0) and the lag of each
first attempt after its due time (p50/p99/max).

Run: ``.venv/bin/python bench/callbacks.py`` (``--count``, ``--url``).

``--crash``: the dispatchers dial customer-first through a :class:`FakePbx` that runs in this
(the benchmark's) process and records every originate it *received*; each call rings
``--ring`` seconds. ``--kill-at`` seconds after the first dial, dispatcher-1 is SIGKILLed mid-run; dispatcher-2 takes
its callbacks over when their leases (``--lease``) run out. Duplicates are counted from the PBX's
record, not from the database: a callback the PBX received more than once was dialled twice.
``lost``: neither completed nor held for a person (``needs_review``). Default count 2,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import secrets
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import func, insert, select, text

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps
from callbacks.models import CallbackAttemptRow, CallbackRow, CallbackState
from callbacks.origination.base import OriginateRequest, OriginateResult
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.service import CallbackService, PolicyBook
from callbacks.sessions import SessionRegistry
from callbacks.store import CallbackStore
from ivr.acd.types import AgentAssignment, CallbackEntry
from ivr.channel import Channel, ConnectResult
from ivr.db import Database
from ivr.db.migrate import upgrade
from ivr.events import EventBus
from ivr.ports import QueueOutcome, QueueOutcomeKind, QueueRequest
from ivr.settings import CallbackSettings
from tests.support.fake_origination import FakeOriginator
from tests.support.fake_pbx import FakePbx, PbxOriginator

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class AlwaysFreeAcd:
    async def wait_for_agent(self, entry: CallbackEntry, timeout: float) -> AgentAssignment | None:
        return AgentAssignment(f"callback:{entry.callback_id}", "a1", "PJSIP/agent1", entry.queue,
                               datetime.now(UTC), entry.arrival_time)

    async def finish_assignment(self, assignment: AgentAssignment, result: ConnectResult) -> None:
        return None

    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome:
        return QueueOutcome(QueueOutcomeKind.CONNECTED, waited_seconds=0.0, agent_id="a1")


@dataclass
class RecordingDialler(FakeOriginator):
    log: list[tuple[str, float]] = field(default_factory=list)

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        self.log.append((request.callback_id, time.time()))
        return await super().originate(request)


async def _dispatch(url: str, owner: str, total: int) -> list[tuple[str, float]]:
    db = Database(url)
    settings = CallbackSettings(poll_interval=0.05, lease_seconds=30.0, batch_size=100, max_active=300)
    bus = EventBus()
    service = CallbackService(CallbackStore(db), bus, settings,
                              policies=PolicyBook(overrides={"support": QueuePolicy(quiet_hours=None)}))
    dialler, acd = RecordingDialler(), AlwaysFreeAcd()
    dispatcher = CallbackDispatcher(service, originator=dialler, acd=acd,
                                    sessions=SessionRegistry(), script=ScriptDeps(bus, None, acd),
                                    settings=settings, owner=owner)
    started = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(started))
    try:
        async with asyncio.timeout(600):
            while True:
                await asyncio.sleep(0.2)
                counts = await service.store.counts()
                if counts.get(CallbackState.COMPLETED.value, 0) >= total:
                    break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()
    return dialler.log


def worker(args: tuple[str, str, int]) -> list[tuple[str, float]]:
    return asyncio.run(_dispatch(*args))


async def seed(url: str, count: int) -> datetime:
    db = Database(url)
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4().hex, "number": f"+3460{i:07d}", "queue": "support", "source": "api",
             "state": "pending", "active_key": f"+3460{i:07d}|support", "arrival_time": now, "due_at": now,
             "created_at": now, "updated_at": now, "attempts": 0, "max_attempts": 3, "waited_seconds": 0.0,
             "merged": 0} for i in range(count)]
    async with db.session() as s:
        for start in range(0, count, 2000):
            await s.execute(insert(CallbackRow), rows[start:start + 2000])
    await db.dispose()
    return now


async def lags(url: str) -> tuple[list[float], dict[str, int], int]:
    db = Database(url)
    async with db.session() as s:
        result = await s.execute(text(
            "SELECT EXTRACT(EPOCH FROM (a.started_at - c.due_at)) FROM callback_attempts a "
            "JOIN callbacks c ON c.id = a.callback_id WHERE a.seq = 1"))
        values = sorted(float(v) for (v,) in result.all())
        multi = await s.scalar(text("SELECT count(*) FROM callback_attempts WHERE seq > 1"))
    counts = await CallbackStore(db).counts()
    await db.dispose()
    return values, counts, int(multi or 0)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


# ---------------------------------------------------------------------- --crash
async def _crash_worker(url: str, owner: str, pbx_port: int, lease: float) -> None:
    """One dispatcher process dialling through the PBX; ends when nothing is left to work."""
    db = Database(url)
    settings = CallbackSettings(poll_interval=0.05, lease_seconds=lease, batch_size=100, max_active=300)
    bus = EventBus()
    policy = QueuePolicy(quiet_hours=None, mode=CallbackMode.CUSTOMER_FIRST)
    service = CallbackService(CallbackStore(db), bus, settings, policies=PolicyBook(overrides={"support": policy}))
    originator, acd = PbxOriginator("127.0.0.1", pbx_port), AlwaysFreeAcd()
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd,
                                    sessions=SessionRegistry(), script=ScriptDeps(bus, None, acd),
                                    settings=settings, owner=owner)
    task = asyncio.create_task(dispatcher.run(asyncio.Event()))
    try:
        async with asyncio.timeout(600):
            while True:
                await asyncio.sleep(0.2)
                counts = await service.store.counts()
                if not any(counts.get(s.value, 0) for s in (CallbackState.PENDING, CallbackState.SCHEDULED,
                                                            CallbackState.DIALING)):
                    break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()


async def _crash_run(url: str, count: int, *, kill_at: float, lease: float, ring: float) -> None:
    pbx = FakePbx(ring_seconds=ring)
    port = await pbx.start()
    here = sys.argv[0]
    try:
        procs = [await asyncio.create_subprocess_exec(sys.executable, here, "--worker", url, f"dispatcher-{i}",
                                                      str(port), str(lease)) for i in (1, 2)]
        await pbx.wait_received(1, timeout=120)  # the processes have started: the clock starts at the first dial
        t0 = time.time()
        try:
            await asyncio.wait_for(procs[0].wait(), timeout=kill_at)
            print("dispatcher-1 ended before the kill: use a larger --count or a smaller --kill-at")
        except TimeoutError:
            received_at_kill = len(pbx.received)
            procs[0].send_signal(signal.SIGKILL)
            await procs[0].wait()
            ringing = sum(1 for c in pbx.calls.values() if c.outcome is None)
            print(f"dispatcher-1 SIGKILLed {time.time() - t0:.2f}s after the first dial; the PBX had received "
                  f"{received_at_kill} originates, {ringing} still ringing")
        await asyncio.wait_for(procs[1].wait(), timeout=600)
        wall = time.time() - t0
    finally:
        await pbx.close()
    db = Database(url)
    async with db.session() as s:
        result = await s.execute(text(
            "SELECT EXTRACT(EPOCH FROM (a.started_at - c.due_at)) FROM callback_attempts a "
            "JOIN callbacks c ON c.id = a.callback_id WHERE a.seq = 1"))
        values = sorted(float(v) for (v,) in result.all())
        taken = await s.scalar(select(func.count()).select_from(CallbackAttemptRow)
                               .where(CallbackAttemptRow.detail.like("taken over%")))
        redialled = await s.scalar(select(func.count()).select_from(CallbackAttemptRow)
                                   .where(CallbackAttemptRow.detail == "taken over: the first call never left"))
    counts = await CallbackStore(db).counts()
    await db.dispose()
    received = Counter(cid for cid, _ in pbx.received)
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    done = counts.get(CallbackState.COMPLETED.value, 0)
    review = counts.get(CallbackState.NEEDS_REVIEW.value, 0)
    print(f"PBX received {len(pbx.received)} originates for {len(received)} distinct callbacks, "
          f"{wall:.2f}s from the first dial to the survivor's end")
    print(f"duplicates (by the PBX's record): {duplicates}   lost: {count - done - review}   "
          f"held for a person (needs_review): {review}")
    print(f"attempts taken over from the dead dispatcher: {int(taken or 0)} "
          f"(of which never left, so dialled by the survivor: {int(redialled or 0)})")
    print(f"lag after due time (first attempt): p50 {pct(values, 50):.2f}s  p99 {pct(values, 99):.2f}s  "
          f"max {values[-1] if values else float('nan'):.2f}s")
    print(f"final states: {counts}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, owner, port, lease = sys.argv[2:6]
        asyncio.run(_crash_worker(url, owner, int(port), float(lease)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--crash", action="store_true", help="SIGKILL dispatcher-1 mid-run (see the docstring)")
    parser.add_argument("--kill-at", type=float, default=1.5)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--ring", type=float, default=0.5)
    a = parser.parse_args()
    a.count = a.count or (2_000 if a.crash else 10_000)
    name = f"puente_bench_{secrets.token_hex(4)}"
    base = a.admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(a.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        seeded_at = asyncio.run(seed(url, a.count))
        if a.crash:
            print(f"seeded {a.count} due callbacks in {name}; two dispatcher processes (customer-first, "
                  f"lease {a.lease:g}s, ring {a.ring:g}s); dispatcher-1 is SIGKILLed {a.kill_at:g}s after the "
                  "first dial")
            asyncio.run(_crash_run(url, a.count, kill_at=a.kill_at, lease=a.lease, ring=a.ring))
            return
        print(f"seeded {a.count} due callbacks in {name}; two dispatcher processes start now")
        t0 = time.time()
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            logs = pool.map(worker, [(url, "dispatcher-1", a.count), (url, "dispatcher-2", a.count)])
        wall = time.time() - t0
        values, counts, retried = asyncio.run(lags(url))
        dialled = Counter(cid for log in logs for cid, _ in log)
        times = sorted(t for log in logs for _, t in log)
        span = (times[-1] - times[0]) if len(times) > 1 else wall
        duplicates = sum(n - 1 for n in dialled.values() if n > 1)
        lost = a.count - counts.get(CallbackState.COMPLETED.value, 0)
        print(f"{'dispatcher':<14}{'dials':>8}")
        for i, log in enumerate(logs, start=1):
            print(f"dispatcher-{i:<3}{len(log):>8}")
        print(f"{'total':<14}{sum(dialled.values()):>8}   (distinct callbacks {len(dialled)})")
        print(f"dials per second: {sum(dialled.values()) / span:,.0f} (first to last dial {span:.2f}s; "
              f"wall incl. process start {wall:.2f}s)")
        print(f"duplicates: {duplicates}   lost: {lost}   attempts beyond the first: {retried}")
        print(f"lag after due time (first attempt): p50 {pct(values, 50):.2f}s  p99 {pct(values, 99):.2f}s  "
              f"max {values[-1] if values else float('nan'):.2f}s  (all {a.count} due at "
              f"{seeded_at:%H:%M:%S}; the lag is mostly the backlog)")
        print(f"final states: {counts}")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _ = timedelta


if __name__ == "__main__":
    main()
