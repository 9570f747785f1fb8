"""``IVR_MQTT__URL`` wires the MQTT publisher, and ``/ready`` reports it connected to the real broker."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ivr.db import Database
from ivr.observability.mqtt import MqttPublisher
from tests.support.app import app_for, make_container
from tests.support.services import MQTT_HOST, MQTT_PORT, require_mosquitto

pytestmark = pytest.mark.mqtt


async def test_mqtt_url_from_the_environment_wires_the_publisher_and_ready_sees_it(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_mosquitto()
    monkeypatch.setenv("IVR_MQTT__URL", f"mqtt://{MQTT_HOST}:{MQTT_PORT}")
    monkeypatch.setenv("IVR_MQTT__SITE", "wiring-test")
    container = await make_container(sqlite_db)
    publisher = container.observability.mqtt
    assert isinstance(publisher, MqttPublisher) and publisher in container.components
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/ready")).json()["checks"]["mqtt"]["connected"] is False  # not running yet
        started = asyncio.Event()
        task = asyncio.create_task(publisher.run(started), name="publisher")
        try:
            async with asyncio.timeout(10):
                while not publisher.connected:  # poll the condition, bounded by the timeout
                    await asyncio.sleep(0.02)
            ready = await client.get("/ready")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert ready.status_code == 200
    assert ready.json()["checks"]["mqtt"] == {"ok": True, "configured": True, "connected": True}


async def test_no_mqtt_url_no_publisher(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVR_MQTT__URL", raising=False)
    container = await make_container(sqlite_db)
    assert container.observability.mqtt is None
    assert not any(isinstance(c, MqttPublisher) for c in container.components)
