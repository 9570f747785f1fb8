"""A real ``ivr serve`` SIGKILLed while a caller waits on hold (FastAGI, the emulated Asterisk):
after a restart the call record is closed as ``lost_on_restart``, with its queue and an end time
no later than the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ivr.calls.models import CallEventRow, CallRow
from ivr.db import Database, utcnow
from tests.sipp.sipp import free_port
from tests.support.agi_driver import AsteriskDriver, CallerModel, env_block

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).parent / "ivr")
CALLER = "+34600999888"


class Server:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.http_port, self.agi_port = free_port(kind=1), free_port(kind=1)
        self.env = {
            **os.environ, "IVR_VAR_DIR": str(tmp / "var"), "IVR_DATABASE_URL": f"sqlite:///{tmp / 'puente.db'}",
            "IVR_HTTP__PORT": str(self.http_port), "IVR_AGI__PORT": str(self.agi_port),
            "IVR_AUDIOSOCKET__PORT": str(free_port(kind=1)), "IVR_SIP__ENABLED": "false",
            "IVR_SIP__PORT": str(free_port()), "IVR_AMI__ENABLED": "false", "IVR_CALLBACKS__DISPATCH": "false",
            "IVR_NODE__ID": "e2e-node", "IVR_NODE__HEARTBEAT_SECONDS": "0.5", "PYTHONPATH": str(ROOT),
        }
        self.env.pop("IVR_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def ivr(self, *args: str) -> None:
        subprocess.run([IVR, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=60)

    def spawn(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        with (self.tmp / f"serve-{self.starts}.log").open("wb") as log:
            return subprocess.Popen([IVR, "serve"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.process = self.spawn()
        async with asyncio.timeout(60), httpx.AsyncClient() as client:
            while True:
                assert self.process.poll() is None, self.log()
                try:
                    if (await client.get(f"http://127.0.0.1:{self.http_port}/health", timeout=1)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def log(self) -> str:
        return (self.tmp / f"serve-{self.starts}.log").read_text(errors="replace")[-3000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "var").mkdir()
    srv = Server(tmp_path)
    srv.ivr("db", "upgrade")
    srv.ivr("schedules", "override", "support", "open", "--reason", "test")
    for agent in ("agent1", "agent2", "agent3"):  # staffed but on calls: a caller waits in line
        srv.ivr("agents", "set-state", agent, "busy")
    try:
        yield srv
    finally:
        srv.stop()


async def poll(db: Database, check: str, deadline: float = 30.0) -> CallRow:
    async with asyncio.timeout(deadline):
        while True:
            async with db.session() as s:
                row = (await s.execute(select(CallRow).where(CallRow.caller == CALLER))).scalar_one_or_none()
                joined = row is not None and (await s.execute(select(CallEventRow.id).where(
                    CallEventRow.call_id == row.call_id, CallEventRow.kind == "queue_joined"))).first() is not None
            if row is not None and ((check == "on hold" and joined) or (check == "closed" and row.ended_at)):
                return row
            await asyncio.sleep(0.1)


async def test_a_call_on_hold_when_the_server_is_killed_is_closed_at_restart(server: Server) -> None:
    db = Database(f"sqlite:///{server.tmp / 'puente.db'}")
    try:
        await server.start()
        # Spanish, then 2 = support: the caller waits in line (every agent is busy)
        caller = CallerModel("22", media_delay=0.05)
        driver = asyncio.create_task(AsteriskDriver(server.agi_port, caller, env=env_block(
            script="support", callerid=CALLER, uniqueid="1795424999.7")).run())
        held = await poll(db, "on hold")
        assert held.ended_at is None and held.owner is not None and held.owner.startswith("e2e-node:")
        killed_at: datetime = utcnow()
        server.stop(signal.SIGKILL)
        await asyncio.wait_for(driver, 15)  # Asterisk sees the AGI socket close
        await server.start()
        closed = await poll(db, "closed")
    finally:
        await db.dispose()
    assert closed.disposition == "lost_on_restart", server.log()
    assert closed.queue == "support"
    assert closed.ended_at is not None and held.started_at <= closed.ended_at <= killed_at
    assert "closed calls left open by a dead process" in server.log()
