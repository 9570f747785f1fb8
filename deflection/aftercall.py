"""After a call with an agent: a rating link, per queue setting, only with consent, never at night.

The component listens to the bus (``AgentConnected`` then ``CallEnded`` for the same call) and
also sends deferred messages when quiet hours end. The ACD may call :meth:`call_ended` directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from deflection.errors import DeflectionError
from deflection.records import CallLookup
from deflection.service import DeflectionService
from ivr.acd.types import AcdError
from ivr.contact import QuietHours, customer_zone
from ivr.db import utcnow
from ivr.events import EventBus
from ivr.events.types import AgentConnected, CallEnded, Event
from ivr.logs import mask_number
from ivr.ports import DeflectionRefused
from ivr.settings import DeflectionSettings

log = logging.getLogger(__name__)
MAX_TRACKED = 10_000


class _QueueConfig(Protocol):
    @property
    def extra(self) -> Mapping[str, Mapping[str, object]]: ...


class QueueConfigs(Protocol):
    def queue_config(self, name: str) -> _QueueConfig: ...


class PostCallRating:
    name = "deflection-post-call"

    def __init__(self, service: DeflectionService, bus: EventBus, settings: DeflectionSettings, *,
                 queues: QueueConfigs | None, calls: CallLookup | None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._service = service
        self._bus = bus
        self._settings = settings
        self._queues = queues
        self._calls = calls
        self._clock = clock
        self._connected: OrderedDict[str, AgentConnected] = OrderedDict()
        self.handled = 0  # calls fully processed (tests wait on it)
        self.changed = asyncio.Event()

    async def run(self, started: asyncio.Event) -> None:
        with self._bus.subscribe(accept=lambda e: isinstance(e, AgentConnected | CallEnded)) as sub:
            started.set()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._deferred_loop())
                async for event in sub:
                    await self.on_event(event)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, AgentConnected):
            self._connected[event.call_id] = event
            while len(self._connected) > MAX_TRACKED:
                self._connected.popitem(last=False)
        elif isinstance(event, CallEnded):
            connected = self._connected.pop(event.call_id, None)
            if connected is not None:
                await self.call_ended(event.call_id, connected.queue, connected.context)
            self.handled += 1
            self.changed.set()

    async def call_ended(self, call_id: str, queue: str, context: dict[str, Any]) -> None:
        """A call that talked to an agent has ended: maybe send a rating link."""
        try:
            await self._rate(call_id, queue, context)
        except DeflectionRefused as exc:
            log.info("no rating link", extra={"call_id": call_id, "reason": str(exc)})
        except (DeflectionError, SQLAlchemyError, OSError):
            log.exception("rating link failed", extra={"call_id": call_id})

    async def _rate(self, call_id: str, queue: str, context: dict[str, Any]) -> None:
        if not self._rating_on(queue):
            return
        number = context.get("caller")
        language = context.get("language")
        if not number:
            record = await self._calls.get_call(call_id) if self._calls is not None else None
            if record is None:
                log.warning("rating: call not found", extra={"call_id": call_id})
                return
            number, language = record.caller, language or record.language
        number = self._service.normalised(number)
        # A callback's call carries its original call in the context: consent given there counts.
        origin = context.get("call_id")
        if not (await self._service.links.has_consent(number, call_id)
                or (isinstance(origin, str) and origin != call_id
                    and await self._service.links.has_consent(number, origin))):
            log.info("rating: no consent", extra={"call_id": call_id, "number": mask_number(number)})
            return
        s = self._settings
        zone = customer_zone(number, self._service.contact.default_timezone)
        defer = QuietHours.parse(s.quiet_hours_start, s.quiet_hours_end).until(self._clock(), zone)
        await self._service.send_rating(number=number, call_id=call_id, queue=queue, language=language or "es",
                                        context={**context, "call_id": call_id, "queue": queue},
                                        not_before=defer)

    def _rating_on(self, queue: str) -> bool:
        if self._queues is None:
            return self._settings.rating_after_call
        try:
            section = self._queues.queue_config(queue).extra.get("deflection", {})
        except (AcdError, LookupError) as exc:
            log.warning("rating: unknown queue", extra={"queue": queue, "error": str(exc)})
            return self._settings.rating_after_call
        return bool(section.get("rating", self._settings.rating_after_call))

    async def _deferred_loop(self) -> None:
        while True:
            try:
                await self._service.send_due_deferred()
            except (SQLAlchemyError, OSError):
                log.exception("sending deferred messages failed; retrying later")
            await asyncio.sleep(self._settings.deferred_poll_seconds)
