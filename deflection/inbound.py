"""Inbound SMS / WhatsApp: opt-out keywords, and reference codes that join a message to its call."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from deflection.links import Stage
from deflection.messages import Direction
from deflection.optout import is_start, is_stop
from deflection.providers.base import MessageStatus
from deflection.service import DeflectionService
from deflection.tokens import find_reference
from ivr.contact import InvalidNumber, to_e164
from ivr.db import utcnow
from ivr.logs import mask_number
from ivr.ports import MessageChannel

log = logging.getLogger(__name__)


class InboundAction(enum.StrEnum):
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    ATTACHED = "attached"  # carried a reference code: joined to its link and call
    STORED = "stored"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: MessageChannel
    provider: str
    sender: str
    body: str
    provider_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundResult:
    action: InboundAction
    link_id: str | None = None
    call_id: str | None = None


class InboundHandler:
    def __init__(self, service: DeflectionService, *, region: str = "ES",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._service = service
        self._region = region
        self._clock = clock

    async def handle(self, msg: InboundMessage) -> InboundResult:
        try:
            number = to_e164(msg.sender if msg.sender.startswith("+") else "+" + msg.sender, self._region)
        except InvalidNumber:
            number = msg.sender.strip()[:32]
        link = None
        reference = find_reference(msg.body)
        if reference is not None:
            link = await self._service.links.by_reference(reference)
        await self._service.messages.add(
            direction=Direction.IN, channel=msg.channel, provider=msg.provider, number=number, body=msg.body[:4000],
            status=MessageStatus.RECEIVED, now=self._clock(), link_id=link.id if link else None,
            call_id=link.call_id if link else None, provider_message_id=msg.provider_message_id,
        )
        if is_stop(msg.body):
            if await self._service.optouts.opt_out(number, f"{msg.channel.value}:{msg.provider}"):
                self._service.metrics.optouts.labels(source=msg.channel.value).inc()
            return InboundResult(InboundAction.OPTED_OUT)
        if is_start(msg.body):
            await self._service.optouts.opt_in(number)
            return InboundResult(InboundAction.OPTED_IN)
        if link is not None:
            await self._service.reach(link, Stage.CONTINUED)
            log.info("inbound message joined to its call",
                     extra={"link_id": link.id, "number": mask_number(number), "channel": msg.channel.value})
            return InboundResult(InboundAction.ATTACHED, link.id, link.call_id)
        return InboundResult(InboundAction.STORED)
