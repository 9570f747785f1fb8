"""Publish bus events to MQTT (QoS 1) under ``puente/<site>/<kind>``.

The bus subscription is the bounded buffer: while the broker is unreachable, events wait there; when
it is full, new events are dropped and counted, and no call is ever blocked. Reconnects use capped,
jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt

from ivr.events import EventBus, Subscription
from ivr.events.types import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MqttTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MqttTarget:
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "tcp"} or not parsed.hostname:
            raise ValueError(f"unsupported MQTT URL {url!r}: use mqtt://host:port")
        return cls(parsed.hostname, parsed.port or 1883, parsed.username, parsed.password)


def _broadcast(event: Event) -> bool:
    return event.broadcast


def topic_for(site: str, event: Event) -> str:
    return f"puente/{site}/{event.kind}"


def backoff_delay(
    attempt: int, *, base: float = 0.5, cap: float = 30.0, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return max(0.05, ceiling * rand())


class MqttPublisher:
    name = "mqtt-publisher"

    def __init__(self, bus: EventBus, target: MqttTarget, *, site: str, buffer_size: int,
                 max_delay: float, on_drop: Callable[[int], None] | None = None,
                 on_publish: Callable[[], None] | None = None) -> None:
        self._target = target
        self._site = site
        self._max_delay = max_delay
        # The flow's small facts (prompts, variables...) stay in the process: only broadcast events
        # go out, as before the engine published its facts on the bus.
        self._sub: Subscription = bus.subscribe(maxsize=buffer_size, accept=_broadcast)
        self._on_drop = on_drop
        self._on_publish = on_publish
        self._reported_drops = 0
        self.connected = False
        self.published = 0
        self._pending: Event | None = None

    @property
    def dropped(self) -> int:
        return self._sub.dropped

    async def run(self, started: asyncio.Event) -> None:
        started.set()  # events buffer from now on, connected or not
        attempt = 0
        try:
            while True:
                try:
                    async with aiomqtt.Client(
                        self._target.host, self._target.port, username=self._target.username,
                        password=self._target.password, identifier=f"puente-{self._site}-{random.getrandbits(32):08x}",
                        timeout=10,
                    ) as client:
                        self.connected = True
                        attempt = 0
                        log.info("mqtt connected", extra={"host": self._target.host, "port": self._target.port})
                        async with asyncio.TaskGroup() as tg:
                            tg.create_task(self._pump(client), name="mqtt-pump")
                            tg.create_task(self._watch(client), name="mqtt-watch")
                except* aiomqtt.MqttError as group:
                    self.connected = False
                    delay = backoff_delay(attempt, cap=self._max_delay)
                    attempt += 1
                    log.warning("mqtt unavailable; retrying",
                                extra={"error": str(group.exceptions[0]), "retry_in": round(delay, 2)})
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # Shutting down. After a failure the subscription stays open: events keep buffering
            # for the restarted run, which publishes them (the supervisor restarts this component).
            self._sub.close()
            raise
        finally:
            self.connected = False

    async def _watch(self, client: aiomqtt.Client) -> None:
        """Notice a lost connection while idle: the message iterator raises MqttError on it."""
        async for _ in client.messages:
            pass
        raise aiomqtt.MqttError("connection closed")

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            if self._pending is None:
                # Kept until the broker acknowledged it (QoS 1), so a drop mid-publish loses nothing.
                self._pending = await self._sub.get()
            event = self._pending
            await client.publish(topic_for(self._site, event), json.dumps(event.to_dict(), default=str), qos=1)
            self._pending = None
            self.published += 1
            if self._on_publish:
                self._on_publish()
            self._report_drops()

    def _report_drops(self) -> None:
        new = self._sub.dropped - self._reported_drops
        if new > 0:
            self._reported_drops = self._sub.dropped
            log.warning("mqtt buffer overflowed; events dropped", extra={"dropped": new})
            if self._on_drop:
                self._on_drop(new)
