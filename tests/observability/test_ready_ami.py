"""``/ready`` reports the AMI connection: up against a server replaying real Asterisk answers, down after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ivr.ami.client import AmiClient
from ivr.db import Database
from tests.support.ami_server import FakeAmiServer, load_capture, responses_to
from tests.support.app import app_for, make_container
from tests.support.app import test_settings as cheap_settings  # aliased: pytest would collect test_*

pytestmark = pytest.mark.timeout(60)


def _server(captures: Path) -> FakeAmiServer:
    restart = load_capture(captures / "round2" / "ami-reconnect-core-restart-idle.txt")
    return FakeAmiServer(
        login=responses_to(restart, "Login")[:1],
        after_login=responses_to(restart, "Login")[1:],
        answers={
            "devicestatelist": responses_to(load_capture(captures / "round2" / "ami-devstate-registration.txt"),
                                            "DeviceStateList"),
            "coreshowchannels": responses_to(load_capture(captures / "ami-events-queue-answered.txt"),
                                             "CoreShowChannels"),
        },
    )


async def _ami_check(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    ready = await client.get("/ready")
    return ready.status_code, ready.json()["checks"]["ami"]


async def test_ready_follows_the_ami_connection(sqlite_db: Database, asterisk_captures: Path) -> None:
    server = _server(asterisk_captures)
    port = await server.start()
    settings = cheap_settings(ami={"enabled": True, "host": "127.0.0.1", "port": port, "username": "labadmin",
                                  "secret": "labsecret", "reconnect_max_delay": 0.2})
    container = await make_container(sqlite_db, settings=settings)
    ami = container.ami  # the one client the callbacks and the ACD share
    assert isinstance(ami, AmiClient)
    transport = httpx.ASGITransport(app=app_for(container))
    started = asyncio.Event()
    task = asyncio.create_task(ami.run(started), name="ami")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await ami.wait_connected(15)
            assert await _ami_check(client) == (200, {"ok": True, "configured": True, "connected": True})
            await server.stop()  # Asterisk goes away
            async with asyncio.timeout(15):
                while ami.connected:  # poll the condition, bounded by the timeout
                    await asyncio.sleep(0.02)
            # calls go on over FastAGI without AMI: degraded, not "not ready" (a load balancer keeps the node)
            assert await _ami_check(client) == (200, {"ok": False, "configured": True, "connected": False})
            body = (await client.get("/ready")).json()
            assert (body["status"], body["down"]) == ("degraded", ["ami"])
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
