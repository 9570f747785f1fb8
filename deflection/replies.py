"""Replies to cases: staff write, the customer gets it on the channel the case came from.

A case was opened from a link sent by SMS or WhatsApp; the reply goes back on that channel (else on
the next one the number can use), with the domain's rules for every message: never to an opted-out
number, never in the customer's quiet hours (then it waits in the outbox until they end, and the
desk says until when), through the admin-editable templates (``case_reply_sms``,
``case_reply_whatsapp``; WhatsApp outside a conversation needs an approved template, named by
``IVR_DEFLECTION__META_REPLY_TEMPLATE``). Every reply is stored with its message, so the case shows
what was sent, when and whether it arrived.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from deflection.cases import CaseRecord, CaseReply, CaseStatus, CaseStore
from deflection.messages import Direction
from deflection.providers.base import MessageStatus, OutboundMessage, TemplateMessage
from deflection.service import DeflectionService
from deflection.texts import WHATSAPP_LANGUAGE, lang
from ivr.contact import QuietHours, customer_zone
from ivr.db import utcnow
from ivr.ports import DeflectionRefused, MessageChannel
from ivr.settings import DeflectionSettings

MAX_REPLY_CHARS = 480  # with the template's words, at most four SMS segments


class ReplyRefused(Exception):
    """The reply cannot go: the text is the reason, written for the person who wrote the reply."""


class ReplyOutcome(enum.StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # quiet hours: it goes when they end
    FAILED = "failed"  # every channel's provider failed (kept, with the error)


@dataclass(frozen=True, slots=True)
class ReplyResult:
    outcome: ReplyOutcome
    reply: CaseReply
    channel: MessageChannel
    not_before: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Draft:
    username: str
    text: str
    at: datetime


_REFUSALS = {
    "opted_out": "the customer has opted out of messages (they replied STOP / BAJA); call them instead",
    "invalid_number": "the case's number cannot receive messages",
    "no_channel": "no SMS or WhatsApp provider can reach this number",
}


class CaseReplies:
    def __init__(self, service: DeflectionService, cases: CaseStore, settings: DeflectionSettings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._service = service
        self._cases = cases
        self._settings = settings
        self._clock = clock

    async def reply(self, case: CaseRecord, text: str, *, username: str) -> ReplyResult:
        text = " ".join(text.split())
        if not text:
            raise ReplyRefused("write the reply first")
        if len(text) > MAX_REPLY_CHARS:
            raise ReplyRefused(f"the reply is longer than {MAX_REPLY_CHARS} characters")
        if case.status is not CaseStatus.OPEN:
            raise ReplyRefused("the case is closed")
        service = self._service
        try:
            number = await service.contactable(case.number)
        except DeflectionRefused as exc:
            raise ReplyRefused(_REFUSALS.get(str(exc), str(exc))) from None
        channels = await self._channels(case, number)
        if service.templates is not None:
            await service.templates.ensure_loaded()
        link = await service.links.get(case.link_id)
        language = lang(link.language if link is not None else str(case.context.get("language") or "es"))
        reference = link.reference if link is not None else str(case.id)
        now = self._clock()
        zone = customer_zone(number, service.contact.default_timezone)
        defer = QuietHours.parse(self._settings.quiet_hours_start, self._settings.quiet_hours_end).until(now, zone)
        draft = _Draft(username, text, now)
        error, last = "no provider", (0, channels[0])
        for channel in channels:
            provider = service.provider_for(channel)
            assert provider is not None  # channels come from the configured providers
            out = self._outbound(number, channel, language, reference, text)
            record = await service.messages.add(
                direction=Direction.OUT, channel=channel, provider=provider.name, number=number, body=out.body,
                template=out.template, status=MessageStatus.DEFERRED if defer else MessageStatus.QUEUED, now=now,
                call_id=case.call_id, not_before=defer)
            if defer is not None:
                return await self._kept(case, draft, record.id, ReplyOutcome.DEFERRED, channel, not_before=defer)
            if await service.send_stored(provider, out, record.id, channel):
                return await self._kept(case, draft, record.id, ReplyOutcome.SENT, channel)
            error = f"the {channel.value} provider failed"
            last = (record.id, channel)
        return await self._kept(case, draft, last[0], ReplyOutcome.FAILED, last[1], error=error)

    async def close(self, case: CaseRecord, *, username: str) -> bool:
        return await self._cases.close(case.id, by=username, now=self._clock())

    async def _channels(self, case: CaseRecord, number: str) -> list[MessageChannel]:
        available = await self._service.channels_for(number)
        link = await self._service.links.get(case.link_id)
        if link is not None and link.channel in available:  # the channel the case came from first
            available = [link.channel, *[c for c in available if c is not link.channel]]
        if not available:
            raise ReplyRefused(_REFUSALS["no_channel"])
        return available

    def _outbound(self, number: str, channel: MessageChannel, language: str, reference: str,
                  text: str) -> OutboundMessage:
        service = self._service
        if channel is MessageChannel.WHATSAPP:
            body = service.text(language, "case_reply_whatsapp", ref=reference, reply=text)
            template = TemplateMessage(self._settings.meta_reply_template, WHATSAPP_LANGUAGE[language],
                                       (reference, text))
            return OutboundMessage(to=number, body=body, template=template,
                                   status_callback=service.status_callback(channel))
        body = service.text(language, "case_reply_sms", ref=reference, reply=text)
        return OutboundMessage(to=number, body=body, status_callback=service.status_callback(channel))

    async def _kept(self, case: CaseRecord, draft: _Draft, message_id: int, outcome: ReplyOutcome,
                    channel: MessageChannel, *, not_before: datetime | None = None,
                    error: str | None = None) -> ReplyResult:
        reply_id = await self._cases.add_reply(case.id, username=draft.username, text=draft.text, at=draft.at,
                                               message_id=message_id)
        replies = (await self._cases.replies([case.id]))[case.id]
        reply = next(r for r in replies if r.id == reply_id)
        return ReplyResult(outcome, reply, channel, not_before, error)
