"""Three real ``ivr serve`` nodes on one PostgreSQL database (``IVR_ACD__SHARED=true``), callers
spread over them through FastAGI (the emulated Asterisk of tests/support/agi_driver.py): one line.

Asserted: positions at join count every node's callers and the EWTs grow with them; one agent
serves the callers in their global arrival order whatever node holds them, each caller is dialled
once and the agent never twice at once; when a node is SIGKILLed while the agent rings for its
caller, the dialplan's next node takes that caller back with their original place (same channel,
same call id), the agent is offered again within the lease, and the other callers keep their order;
a caller sent on only after the dead node's lease ran out (with PUENTE_CALL_ID and PUENTE_QUEUE, as
extensions_cluster.conf passes them) skips the menu, gets their place back and stays one call record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from ivr.acd.pgline import asyncpg_dsn
from tests.sipp.sipp import free_port
from tests.support.agi_driver import AsteriskDriver, CallerModel, DialOutcome, env_block
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).parent / "ivr")


class Node:
    def __init__(self, name: str, url: str, tmp: Path, dialplan: Path) -> None:
        self.name = name
        self.tmp = tmp
        self.http_port, self.agi_port = free_port(kind=1), free_port(kind=1)
        self.env = {
            **os.environ, "IVR_VAR_DIR": str(tmp / f"var-{name}"), "IVR_DATABASE_URL": url,
            "IVR_FLOWS_DIR": str(dialplan / "flows"), "IVR_ACD__SHARED": "true", "IVR_ACD__LEASE_SECONDS": "6",
            "IVR_HTTP__PORT": str(self.http_port), "IVR_AGI__PORT": str(self.agi_port),
            "IVR_AUDIOSOCKET__PORT": str(free_port(kind=1)), "IVR_SIP__ENABLED": "false",
            "IVR_SIP__PORT": str(free_port()), "IVR_AMI__ENABLED": "false", "IVR_CALLBACKS__DISPATCH": "false",
            "IVR_NODE__ID": name, "IVR_NODE__HEARTBEAT_SECONDS": "1", "PYTHONPATH": str(ROOT),
        }
        self.env.pop("IVR_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None

    def ivr(self, *args: str) -> None:
        subprocess.run([IVR, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=60)

    def spawn(self) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{self.name}.log").open("wb") as log:
            return subprocess.Popen([IVR, "serve"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.process = self.spawn()
        async with asyncio.timeout(90), httpx.AsyncClient() as client:
            while True:
                assert self.process.poll() is None, self.log()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{self.http_port}/health", timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.2)

    def log(self) -> str:
        return (self.tmp / f"{self.name}.log").read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Caller:
    """One caller on one node: Spanish, then 2 = support; every EXEC Dial is timed."""

    def __init__(self, index: int, node: Node, dial: DialOutcome, arguments: Sequence[str] = ()) -> None:
        self.number = f"+3460055{index:04d}"
        self.node = node
        self.model = CallerModel("22", media_delay=0.05, dial=dial)
        self.model.hook_port = node.agi_port
        self.dials: list[tuple[float, float, str]] = []  # start, end, command
        self.driver = AsteriskDriver(node.agi_port, self._respond, read_timeout=120, env=env_block(
            script="support", callerid=self.number, uniqueid=f"1795425000.{index}", arguments=arguments))

    async def _respond(self, command: str) -> Sequence[str]:
        started = time.monotonic()
        replies = await self.model(command)
        if command.startswith("EXEC Dial"):
            self.dials.append((started, time.monotonic(), command))
        return replies


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[list[Node], str]]:
    require_postgres()
    dialplan = tmp_path / "dialplan"
    shutil.copytree(ROOT / "dialplan", dialplan, ignore=shutil.ignore_patterns("asterisk"))
    queues = yaml.safe_load((dialplan / "queues.yaml").read_text())
    queues["queues"]["support"].update(wrap_up_seconds=0, offer_callback_ewt_above=None, offer_link_ewt_above=None)
    (dialplan / "queues.yaml").write_text(yaml.safe_dump(queues))
    async with postgres_database() as db:
        nodes = [Node(f"node{i}", db.url, tmp_path, dialplan) for i in (1, 2, 3)]
        nodes[0].ivr("schedules", "override", "support", "open", "--reason", "test")
        try:
            for node in nodes:
                await node.start()
            yield nodes, db.url
        finally:
            for node in nodes:
                node.stop()


async def _until(conn: asyncpg.Connection, query: str, expected: object, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while await conn.fetchval(query) != expected:
            await asyncio.sleep(0.05)


async def _joined(conn: asyncpg.Connection, number: str) -> dict[str, object]:
    """The caller's queue_joined event (the recorder writes it beside the call, so wait for it)."""
    async with asyncio.timeout(20):
        while True:
            data = await conn.fetchval("SELECT e.data FROM call_events e JOIN calls c ON c.call_id = e.call_id"
                                       " WHERE c.caller = $1 AND e.kind = 'queue_joined' ORDER BY e.seq LIMIT 1",
                                       number)
            if data is not None:
                loaded: dict[str, object] = json.loads(data) if isinstance(data, str) else data
                return loaded
            await asyncio.sleep(0.05)


async def test_three_nodes_one_line(cluster: tuple[list[Node], str]) -> None:
    nodes, url = cluster
    conn = await asyncpg.connect(asyncpg_dsn(url))
    tasks: list[asyncio.Task[object]] = []
    try:
        # staffed, but on a call: callers wait
        await asyncio.to_thread(nodes[0].ivr, "agents", "set-state", "agent1", "busy")
        await _until(conn, "SELECT state FROM acd_line_agents WHERE agent_id = 'agent1'", "busy")
        callers = [Caller(i, nodes[i % 3], DialOutcome(talk_seconds=0.2)) for i in range(6)]
        for i, caller in enumerate(callers):  # one after the other: a known arrival order
            tasks.append(asyncio.create_task(caller.driver.run()))
            await _until(conn, "SELECT count(*) FROM acd_line_entries", i + 1)
        # Each caller heard the place that counts every node's callers ahead of them.
        joined = [await _joined(conn, c.number) for c in callers]
        assert [j["position"] for j in joined] == [1, 2, 3, 4, 5, 6]
        ewts = [j["ewt_seconds"] for j in joined]
        numbers = [float(e) for e in ewts if isinstance(e, (int, float))]
        assert len(numbers) == len(ewts) and numbers == sorted(numbers), ewts

        await asyncio.to_thread(nodes[2].ivr, "agents", "set-state", "agent1", "available")
        async with asyncio.timeout(90):
            await asyncio.gather(*tasks)
        order = sorted(range(6), key=lambda i: callers[i].dials[0][0])
        assert order == [0, 1, 2, 3, 4, 5]
        assert all(len(c.dials) == 1 and "PJSIP/agent1" in c.dials[0][2] for c in callers)
        spans = sorted((c.dials[0][0], c.dials[0][1]) for c in callers)
        assert all(a_end <= b_start for (_s, a_end), (b_start, _e) in itertools.pairwise(spans))
        assert await conn.fetchval("SELECT count(*) FROM acd_line_entries") == 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await conn.close()


async def test_a_sigkilled_node_frees_its_agent_and_loses_no_other_caller(cluster: tuple[list[Node], str]) -> None:
    nodes, url = cluster
    conn = await asyncpg.connect(asyncpg_dsn(url))
    tasks: list[asyncio.Task[object]] = []
    try:
        await asyncio.to_thread(nodes[0].ivr, "agents", "set-state", "agent1", "busy")
        await _until(conn, "SELECT state FROM acd_line_agents WHERE agent_id = 'agent1'", "busy")
        # The first caller is on node 2 and their agent's phone rings long (it is still ringing
        # when node 2 dies); the others wait on nodes 1 and 3.
        doomed = Caller(0, nodes[1], DialOutcome(ring_seconds=60))
        others = [Caller(i, nodes[n], DialOutcome(talk_seconds=0.2)) for i, n in ((1, 0), (2, 2))]
        for i, caller in enumerate([doomed, *others]):
            tasks.append(asyncio.create_task(caller.driver.run()))
            await _until(conn, "SELECT count(*) FROM acd_line_entries", i + 1)
        await asyncio.to_thread(nodes[0].ivr, "agents", "set-state", "agent1", "available")
        async with asyncio.timeout(20):  # agent1 rings for node 2's caller
            while not any(c.startswith("EXEC Dial") for c in doomed.driver.result.commands):
                await asyncio.sleep(0.05)
        killed = time.monotonic()
        nodes[1].stop(signal.SIGKILL)
        # The dialplan sends the caller on to the next node at once (the same channel: a new AGI
        # session on node 3 with the same uniqueid). They keep their place at the head of the line,
        # and agent1, rung for them by the dead node, is offered to them again.
        again = Caller(0, nodes[2], DialOutcome(talk_seconds=0.2))
        tasks.append(asyncio.create_task(again.driver.run()))
        await _until(conn, "SELECT count(*) FROM acd_line_entries WHERE owner LIKE 'node2:%'", 0, timeout=10)
        async with asyncio.timeout(30):
            await asyncio.gather(*tasks[1:])
        assert again.dials and again.dials[0][0] - killed <= 10.0, nodes[2].log()
        assert [len(c.dials) for c in (again, *others)] == [1, 1, 1]
        assert again.dials[0][0] < others[0].dials[0][0] < others[1].dials[0][0]
        assert await conn.fetchval("SELECT count(*) FROM acd_line_entries") == 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await conn.close()


async def test_a_caller_sent_on_after_the_lease_skips_the_menu_and_keeps_their_place(
        cluster: tuple[list[Node], str]) -> None:
    nodes, url = cluster
    conn = await asyncpg.connect(asyncpg_dsn(url))
    tasks: list[asyncio.Task[object]] = []
    try:
        await asyncio.to_thread(nodes[0].ivr, "agents", "set-state", "agent1", "busy")
        await _until(conn, "SELECT state FROM acd_line_agents WHERE agent_id = 'agent1'", "busy")
        doomed = Caller(0, nodes[1], DialOutcome(talk_seconds=0.2))
        others = [Caller(i, nodes[n], DialOutcome(talk_seconds=0.2)) for i, n in ((1, 0), (2, 2))]
        for i, caller in enumerate([doomed, *others]):
            tasks.append(asyncio.create_task(caller.driver.run()))
            await _until(conn, "SELECT count(*) FROM acd_line_entries", i + 1)
        nodes[1].stop(signal.SIGKILL)
        # the lease runs out: the entry leaves the line, its place is kept as an orphan
        await _until(conn, "SELECT count(*) FROM acd_line_orphans WHERE call_id = '1795425000.0'", 1, timeout=20)
        assert await conn.fetchval("SELECT count(*) FROM acd_line_entries") == 2
        # only now does the dialplan reach the next node, with the call id and queue node 2 had set
        again = Caller(0, nodes[2], DialOutcome(talk_seconds=0.2), arguments=("1795425000.0", "support"))
        tasks.append(asyncio.create_task(again.driver.run()))
        await _until(conn, "SELECT call_id FROM acd_line_entries ORDER BY priority DESC, arrival, seq LIMIT 1",
                     "1795425000.0")
        await asyncio.to_thread(nodes[0].ivr, "agents", "set-state", "agent1", "available")
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks[1:])
        assert [len(c.dials) for c in (again, *others)] == [1, 1, 1]
        assert again.dials[0][0] < others[0].dials[0][0] < others[1].dials[0][0]
        # one call, two legs; after the resumption no menu node ran, only the way back into the queue
        async with asyncio.timeout(20):
            while await conn.fetchval("SELECT disposition FROM calls WHERE call_id = '1795425000.0'") is None:
                await asyncio.sleep(0.05)
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE caller = $1", again.number) == 1
        assert await conn.fetchval("SELECT legs FROM calls WHERE call_id = '1795425000.0'") == 2
        after = await conn.fetch(
            "SELECT kind, node FROM call_events WHERE call_id = '1795425000.0' AND seq > (SELECT seq FROM"
            " call_events WHERE call_id = '1795425000.0' AND kind = 'resumed') AND kind = 'node_entered'"
            " ORDER BY seq")
        assert [r["node"] for r in after] == ["resume"], nodes[2].log()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await conn.close()
