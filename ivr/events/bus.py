from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from ivr.events.types import Event

log = logging.getLogger(__name__)


class Subscription:
    """A bounded mailbox of events. A slow subscriber loses events (counted), never blocks a call."""

    def __init__(self, bus: EventBus, maxsize: int, accept: Callable[[Event], bool] | None) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self._accept = accept
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if self._accept is not None and not self._accept(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Publish is synchronous and never blocks; each subscriber has its own bounded queue."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, *, maxsize: int = 1000, accept: Callable[[Event], bool] | None = None) -> Subscription:
        sub = Subscription(self, maxsize, accept)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """A synchronous listener (metrics): must be fast and must not raise."""
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed", extra={"event": event.kind})
        for sub in list(self._subs):
            sub.offer(event)
