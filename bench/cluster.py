"""One contact centre on 1, 2 and 3 nodes (the shared line on PostgreSQL) against the single-node
in-memory router.

Each node is a :class:`~ivr.acd.pgline.PgLine` with its own connection pool and its own LISTEN
connection (:class:`~ivr.acd.pgwake.LineListener`), in this process: every node's decisions go
through the database exactly as between processes (one advisory-locked transaction per change,
offers delivered to the owning node by NOTIFY). ``--callers`` callers wait at all times, spread
round-robin over the nodes (each one served is replaced by a new caller on its node); ``--agents``
agents take each offer at once and talk for an exponential handle time (mean ``--handle``), then
end the contact from the node that owns the caller and are free again.

Figures per run:
- routing decisions/s: offers made per second;
- free->offer: from the moment an agent's contact is ended (before its transaction starts) to
  the owning node receiving that agent's next offer (p50/p99, ms);
- double offers: an offer for an agent that already holds one, or a second offer for one caller
  (goal 0);
- lost: callers that joined and are neither served nor still in line at the end (goal 0).

Usage: python -m bench.cluster [--callers 500] [--agents 20] [--handle 0.5] [--seconds 10]
       [--nodes 1 2 3] [--db postgresql://postgres@127.0.0.1:5432/test]
A fresh database is created (and dropped) on the server for each run. Run it as a module from the
repository root: as a script, bench/callbacks.py would shadow the callbacks package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from ivr.acd.line import LineAgent, LineResult, MemoryLine, NewEntry, Offer, SharedLine
from ivr.acd.pgline import PgLine
from ivr.acd.pgwake import LineListener
from ivr.acd.types import AgentState
from ivr.db.migrate import upgrade_async

QUEUE = {"support": {"support": 1}}


@dataclass
class Tally:
    offers: int = 0
    doubles: int = 0
    latencies: list[float] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)
    served: set[str] = field(default_factory=set)
    holding: dict[str, str] = field(default_factory=dict)  # agent -> entry offered/handled
    offered_entries: set[str] = field(default_factory=set)
    free_at: dict[str, float] = field(default_factory=dict)  # agent -> when its contact ended


@dataclass
class Node:
    owner: str
    line: SharedLine
    inbox: asyncio.Queue[Offer] = field(default_factory=asyncio.Queue)


class Run:
    def __init__(self, nodes: list[Node], args: argparse.Namespace, deliver: Callable[[LineResult], None]) -> None:
        self.nodes = nodes
        self.by_owner = {n.owner: n for n in nodes}
        self.args = args
        self.deliver = deliver  # the in-memory line hands offers over directly; PostgreSQL by NOTIFY
        self.t = Tally()
        self.rng = random.Random(7)
        self.count = 0
        self.stop = False
        self.offers_in_time = 0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def join(self, node: Node) -> None:
        self.count += 1
        entry_id = f"{node.owner}/{self.count}"
        self.t.joined.add(entry_id)
        self.deliver(await node.line.join(NewEntry(entry_id, "support", self.now(), node.owner), at=self.now()))

    def received(self, offer: Offer) -> None:
        a = offer.assignment
        self.t.offers += 1
        if a.agent_id in self.t.holding or a.entry_id in self.t.offered_entries:
            self.t.doubles += 1
        self.t.holding[a.agent_id] = a.entry_id
        self.t.offered_entries.add(a.entry_id)
        freed = self.t.free_at.pop(a.agent_id, None)
        if freed is not None:
            self.t.latencies.append((time.perf_counter() - freed) * 1000)

    async def node_loop(self, node: Node, tg: asyncio.TaskGroup) -> None:
        while not self.stop:
            try:
                offer = await asyncio.wait_for(node.inbox.get(), 0.2)
            except TimeoutError:
                continue
            self.received(offer)
            tg.create_task(self.contact(node, offer))

    async def contact(self, node: Node, offer: Offer) -> None:
        a = offer.assignment
        self.deliver(await node.line.answered(a.entry_id, at=self.now()))
        self.t.served.add(a.entry_id)
        if not self.stop:
            await self.join(node)  # the line stays at --callers
        await asyncio.sleep(self.rng.expovariate(1 / self.args.handle))
        self.t.holding.pop(a.agent_id, None)
        self.t.free_at[a.agent_id] = time.perf_counter()
        self.deliver(await node.line.end_contact(a.agent_id, at=self.now(), wrap_up_seconds=0))

    async def go(self) -> float:
        for i in range(self.args.callers):
            await self.join(self.nodes[i % len(self.nodes)])
        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for node in self.nodes:
                tg.create_task(self.node_loop(node, tg))
            for i in range(self.args.agents):
                node = self.nodes[i % len(self.nodes)]
                self.deliver(await node.line.set_state(f"a{i}", AgentState.AVAILABLE, at=self.now()))
            await asyncio.sleep(self.args.seconds)
            self.stop = True  # contacts in progress end; no new callers join
            elapsed = time.perf_counter() - start
            self.offers_in_time = self.t.offers
        return elapsed


def _memory_deliver(nodes: dict[str, Node]) -> Callable[[LineResult], None]:
    def deliver(result: LineResult) -> None:
        for offer in result.offers:
            nodes[offer.owner].inbox.put_nowait(offer)
    return deliver


def _agents(n: int) -> list[LineAgent]:
    return [LineAgent(f"a{i}", f"PJSIP/a{i}", {"support": 1}) for i in range(n)]


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = f"puente_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await upgrade_async(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield url
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run_memory(args: argparse.Namespace) -> tuple[Run, float, int]:
    line = MemoryLine()
    await line.configure(QUEUE, _agents(args.agents), at=datetime.now(UTC) - timedelta(hours=1))
    node = Node("solo:1", line)
    run = Run([node], args, _memory_deliver({node.owner: node}))
    elapsed = await run.go()
    return run, elapsed, len((await line.snapshot()).entries)


async def run_pg(args: argparse.Namespace, count: int) -> tuple[Run, float, int]:
    async with fresh_database(args.db) as url:
        lines = [await PgLine.connect(url, owner=f"node{i}:{secrets.token_hex(3)}", max_size=4) for i in range(count)]
        nodes = [Node(line.owner, line) for line in lines]
        listeners = []
        for node in nodes:
            def mine(offer: Offer, node: Node = node) -> None:
                if offer.owner == node.owner:
                    node.inbox.put_nowait(offer)
            listener = LineListener(url, on_offer=mine, on_agents=lambda _ids: None)
            await listener.start()
            listeners.append(listener)
        try:
            await lines[0].configure(QUEUE, _agents(args.agents), at=datetime.now(UTC) - timedelta(hours=1))
            run = Run(nodes, args, lambda _r: None)
            elapsed = await run.go()
            await asyncio.sleep(0.5)  # the last notifications
            waiting = len((await lines[0].snapshot()).entries)
        finally:
            for listener in listeners:
                await listener.aclose()
            for line in lines:
                await line.aclose()
    return run, elapsed, waiting


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, run: Run, elapsed: float, waiting: int) -> tuple[str, float, float, float, int, int]:
    t = run.t
    lost = len(t.joined - t.served) - waiting
    return (label, run.offers_in_time / elapsed, _pct(t.latencies, 0.5), _pct(t.latencies, 0.99), t.doubles, abs(lost))


async def main(args: argparse.Namespace) -> None:
    rows = []
    runs: list[tuple[str, Callable[[], Awaitable[tuple[Run, float, int]]]]] = [
        ("memory (1 node)", lambda: run_memory(args))]
    for n in args.nodes:
        runs.append((f"postgres {n} node{'s' if n > 1 else ''}", functools.partial(run_pg, args, n)))
    for label, fn in runs:
        run, elapsed, waiting = await fn()
        rows.append(row(label, run, elapsed, waiting))
        print(f"  {label}: {run.t.offers} offers in {elapsed:.1f} s", flush=True)
    load = os.getloadavg()[0]
    print(f"\n{args.callers} waiting callers, {args.agents} agents, handle ~ Exp(mean {args.handle} s), "
          f"{args.seconds} s per run; {os.cpu_count()} CPUs, load average {load:.1f} at the end")
    print(f"{'line':<18} {'decisions/s':>12} {'free->offer p50 ms':>19} {'p99 ms':>8} {'double offers':>14} "
          f"{'lost':>5}")
    for label, rate, p50, p99, doubles, lost in rows:
        print(f"{label:<18} {rate:>12.1f} {p50:>19.2f} {p99:>8.2f} {doubles:>14} {lost:>5}")
    last = rows[-1]
    print(f"double offers: {last[4]}  lost: {last[5]}  p99 free->offer ms: {last[3]:.2f}")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--callers", type=int, default=500)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--handle", type=float, default=0.5, help="mean handle time, seconds (exponential)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test", help="an admin URL: a fresh "
                   "database is created beside it for each run")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
