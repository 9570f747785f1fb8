"""The MQTT publisher after a failure: its subscription stays open, so the events published while
it was down wait for the restarted run; only a shutdown (cancellation) closes it."""

from __future__ import annotations

import asyncio
from types import TracebackType

import pytest

from ivr.events import EventBus
from ivr.events.types import CallStarted
from ivr.observability import mqtt as mqtt_module
from ivr.observability.mqtt import MqttPublisher, MqttTarget


class ExplodingClient:
    """Stands in for aiomqtt.Client: fails with a bug (not an MqttError) when it connects."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    async def __aenter__(self) -> ExplodingClient:
        raise RuntimeError("a bug in the publisher")

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class HangingClient(ExplodingClient):
    async def __aenter__(self) -> ExplodingClient:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def event(call_id: str) -> CallStarted:
    return CallStarted(call_id=call_id, dialled="900", backend="sip", flow="support")


async def test_a_failed_run_keeps_buffering_and_a_cancelled_run_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = EventBus()
    publisher = MqttPublisher(bus, MqttTarget("127.0.0.1", 1), site="t", buffer_size=1, max_delay=1)
    monkeypatch.setattr(mqtt_module.aiomqtt, "Client", ExplodingClient)
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(publisher.run(asyncio.Event()), 10)
    bus.publish(event("a"))
    bus.publish(event("b"))
    assert publisher.dropped == 1  # still subscribed: one buffered for the next run, one over the bound
    monkeypatch.setattr(mqtt_module.aiomqtt, "Client", HangingClient)
    started = asyncio.Event()
    task = asyncio.create_task(publisher.run(started))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    bus.publish(event("c"))
    assert publisher.dropped == 1  # unsubscribed at shutdown: nothing more is offered to it
