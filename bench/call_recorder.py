"""Benchmark: the call recorder under many concurrent calls.

N concurrent calls each record E events (paced like a real call, compressed in time) and end; the
batching writer runs as in ``ivr serve``. Prints events/s, transactions opened, rows per
transaction, and how long ``call_ended`` (which waits for the call's rows to be durable) takes.

Run: ``.venv/bin/python bench/call_recorder.py`` (SQLite in a temp dir), or with
``--pg postgresql://postgres@127.0.0.1:5432/test``: a scratch database is created on that server,
migrated, and dropped afterwards (the named database is only used to create it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.calls.store import CallStore
from ivr.channel import Backend, CallInfo
from ivr.db import Database
from ivr.db.migrate import upgrade_async
from ivr.events import EventBus
from ivr.events.flow import PromptPlayed
from ivr.ports import Disposition


async def one_call(store: CallStore, n: int, events: int, spacing: float, *, ends: list[float], tag: str) -> None:
    cid = f"bench-{tag}-{n}"
    info = CallInfo(call_id=cid, caller=f"+3460{n:07d}", dialled="900100200", backend=Backend.SIP,
                    started_at=datetime.now(UTC))
    await store.call_started(info, flow="support", language="es")
    for i in range(events):
        store.publish(PromptPlayed(call_id=cid, node=f"n{i % 7}", prompt="es/main_menu"))
        await asyncio.sleep(random.uniform(0, 2 * spacing))
    t0 = time.perf_counter()
    await store.call_ended(cid, Disposition.COMPLETED)
    ends.append(time.perf_counter() - t0)


async def run(url: str, calls: int, events: int, spacing: float) -> None:
    await upgrade_async(url)
    db = Database(url)
    store = CallStore(db, EventBus())
    ends: list[float] = []
    started = asyncio.Event()
    tag = f"{time.time():.0f}"
    t0 = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        writer = tg.create_task(store.run(started))
        await started.wait()
        async with asyncio.TaskGroup() as calls_group:
            for n in range(calls):
                calls_group.create_task(one_call(store, n, events, spacing, ends=ends, tag=tag))
        writer.cancel()
    wall = time.perf_counter() - t0
    await db.dispose()
    rows = calls * (events + 1)
    w = store.writer
    ends.sort()
    print(f"database            {url.split('://', maxsplit=1)[0]}")
    print(f"calls x events      {calls} x {events} = {calls * events} events in {wall:.1f} s")
    print(f"events/s recorded   {calls * events / wall:,.0f}")
    print(f"transactions        {w.flushes} ({w.flushes / wall:.1f}/s), {rows / max(w.flushes, 1):.0f} rows each")
    print(f"failed / dropped    {w.failed_flushes} / {w.dropped_events + w.dropped_rows}")
    print(f"call_ended latency  p50 {statistics.median(ends) * 1000:.1f} ms, "
          f"p99 {ends[int(len(ends) * 0.99) - 1] * 1000:.1f} ms, max {ends[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server to create a scratch database on")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=0.05, help="mean seconds between a call's events")
    args = parser.parse_args()
    if args.pg:
        asyncio.run(on_scratch_postgres(args.pg, args.calls, args.events, args.spacing))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/bench.db", args.calls, args.events, args.spacing))


async def on_scratch_postgres(admin_url: str, calls: int, events: int, spacing: float) -> None:
    import asyncpg

    name = f"puente_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        await run(admin_url.rsplit("/", 1)[0] + f"/{name}", calls, events, spacing)
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


if __name__ == "__main__":
    main()
