from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from ivr.events import EventBus
from ivr.events.types import CallStarted, QueueJoined
from ivr.observability.mqtt import MqttPublisher, MqttTarget, backoff_delay, topic_for
from tests.support.mosquitto import PrivateBroker
from tests.support.services import MQTT_HOST, MQTT_PORT, require_mosquitto

pytestmark = pytest.mark.mqtt


def started(call_id: str) -> CallStarted:
    return CallStarted(call_id=call_id, dialled="900", backend="sip", flow="support")


@asynccontextmanager
async def running(publisher: MqttPublisher) -> AsyncIterator[None]:
    ready = asyncio.Event()
    task = asyncio.create_task(publisher.run(ready), name="publisher")
    await ready.wait()
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def collect(host: str, port: int, topic: str, count: int, *, subscribed: asyncio.Event,
                  timeout: float = 20) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []
    async with aiomqtt.Client(host, port) as sub:
        await sub.subscribe(topic, qos=1)
        subscribed.set()
        async with asyncio.timeout(timeout):
            async for message in sub.messages:
                got.append(json.loads(bytes(message.payload)))
                if len(got) >= count:
                    break
    return got


async def wait_until(predicate: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


def test_topic_scheme() -> None:
    assert topic_for("madrid", started("c1")) == "puente/madrid/call/started"


def test_backoff_is_capped_and_jittered() -> None:
    assert backoff_delay(50, cap=30, rand=lambda: 1.0) == 30
    assert backoff_delay(0, base=0.5, rand=lambda: 1.0) == 0.5
    assert backoff_delay(3, base=0.5, rand=lambda: 0.5) == 2.0


async def test_events_reach_the_real_broker_with_qos1() -> None:
    require_mosquitto()
    bus = EventBus()
    site = f"t{id(bus)}"
    publisher = MqttPublisher(bus, MqttTarget(MQTT_HOST, MQTT_PORT), site=site, buffer_size=100, max_delay=1)
    subscribed = asyncio.Event()  # per test: an Event binds to the loop of its first wait
    receiver = asyncio.create_task(collect(MQTT_HOST, MQTT_PORT, f"puente/{site}/#", 2, subscribed=subscribed))
    ready = asyncio.create_task(subscribed.wait())
    # the receiver's failure (broker unreachable) ends this wait at once instead of hanging
    await asyncio.wait([receiver, ready], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if receiver.done():
        receiver.result()  # raises what went wrong
    assert subscribed.is_set(), "the test subscriber did not subscribe within 20 s"
    async with running(publisher):
        bus.publish(started("c1"))
        bus.publish(QueueJoined(call_id="c1", queue="billing", position=2, ewt_seconds=95.0))
        got = await receiver
    assert [g["kind"] for g in got] == ["call/started", "queue/joined"]
    assert got[1]["queue"] == "billing" and got[1]["position"] == 2


async def test_broker_restart_buffers_then_delivers_and_counts_drops(tmp_path: Path) -> None:
    broker = PrivateBroker(tmp_path)
    broker.start()
    bus = EventBus()
    publisher = MqttPublisher(bus, MqttTarget("127.0.0.1", broker.port), site="r", buffer_size=5, max_delay=0.5)
    try:
        async with running(publisher):
            await wait_until(lambda: publisher.connected)
            bus.publish(started("before"))
            await wait_until(lambda: publisher.published == 1)
            broker.stop()
            await wait_until(lambda: not publisher.connected)
            for i in range(8):  # more than the buffer holds: 3 are dropped, the call never blocks
                bus.publish(started(f"during-{i}"))
            assert publisher.dropped == 3
            broker.start()
            await wait_until(lambda: publisher.published == 6, timeout=20)
    finally:
        broker.stop()
