"""The deflection service: ``ivr.ports.DeflectionPort`` for the flow engine, and the link lifecycle.

``send_link`` stores the consent and a link (token hashed, context snapshot), then sends it on
the best channel (WhatsApp when configured and the number is mobile, else SMS), falling back to
the next channel when a provider fails. Every stage reached is counted once and published as a
``DeflectionLifecycle`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deflection.errors import InvalidNumber, ProviderError
from deflection.links import LinkPurpose, LinkRecord, LinkStore, Stage
from deflection.messages import Direction, MessageRecord, MessageStore
from deflection.metrics import DeflectionMetrics
from deflection.optout import OptOutRegistry
from deflection.providers.base import MessageProvider, MessageStatus, OutboundMessage, TemplateMessage
from deflection.templates import TemplateBook
from deflection.texts import WHATSAPP_LANGUAGE, lang, message
from deflection.tokens import new_token
from ivr.contact import is_mobile, to_e164
from ivr.db import utcnow
from ivr.events import EventBus
from ivr.events.types import DeflectionLifecycle
from ivr.logs import mask_number
from ivr.ports import Consent, DeflectionRefused, DeflectionRequest, LinkTicket, MessageChannel
from ivr.settings import ContactSettings, DeflectionSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SentLink:
    link: LinkRecord
    url: str
    channel: MessageChannel
    message: MessageRecord


class DeflectionService:
    def __init__(self, *, links: LinkStore, messages: MessageStore, optouts: OptOutRegistry,
                 providers: dict[MessageChannel, MessageProvider], settings: DeflectionSettings,
                 public_base_url: str, bus: EventBus, metrics: DeflectionMetrics,
                 clock: Callable[[], datetime] = utcnow, templates: TemplateBook | None = None,
                 contact: ContactSettings | None = None) -> None:
        self.links = links
        self.contact = contact or ContactSettings()
        self.messages = messages
        self.optouts = optouts
        self._providers = providers
        self._settings = settings
        self._base = public_base_url.rstrip("/")
        self._bus = bus
        self.metrics = metrics
        self._clock = clock
        self.templates = templates

    # ------------------------------------------------------------------ DeflectionPort

    async def channels_for(self, number: str) -> list[MessageChannel]:
        try:
            e164 = to_e164(number, self.contact.default_region)
        except InvalidNumber:
            return []
        out: list[MessageChannel] = []
        if MessageChannel.WHATSAPP in self._providers and is_mobile(e164):
            out.append(MessageChannel.WHATSAPP)
        if MessageChannel.SMS in self._providers:
            out.append(MessageChannel.SMS)
        return out

    async def send_link(self, req: DeflectionRequest) -> LinkTicket:
        number = await self._contactable(req.number)
        channels = await self.channels_for(number)
        if req.channel is not None:
            if req.channel not in channels:
                self._refused("channel_unavailable")
                raise DeflectionRefused("channel_unavailable")
            channels = [req.channel]
        if not channels:
            self._refused("no_channel")
            raise DeflectionRefused("no_channel")
        ctx = req.context
        consent_id = await self.links.add_consent(number, ctx.call_id, req.consent)
        token = new_token()
        link = await self.links.create(
            token=token, purpose=LinkPurpose.DEFLECTION, number=number, call_id=ctx.call_id,
            language=lang(ctx.language), channel=channels[0], reason=req.reason, queue=ctx.queue,
            context={**ctx.to_dict(), "reason": req.reason}, consent_id=consent_id, now=self._clock(),
            ttl=timedelta(hours=self._settings.link_ttl_hours), stages=(Stage.OFFERED, Stage.ACCEPTED),
        )
        self._announce(link, Stage.OFFERED, channels[0])
        self._announce(link, Stage.ACCEPTED, channels[0])
        if self.templates is not None:
            await self.templates.ensure_loaded()
        sent = await self._deliver(link, token, channels, kind="link")
        return LinkTicket(link_id=link.id, reference=link.reference, url=sent.url, channel=sent.channel)

    # ------------------------------------------------------------------ after the call

    async def send_rating(self, *, number: str, call_id: str | None, queue: str | None, language: str,
                          context: dict[str, Any], not_before: datetime | None = None) -> LinkRecord:
        """A rating link: sent now, or recorded as deferred until ``not_before`` (quiet hours)."""
        if self.templates is not None:
            await self.templates.ensure_loaded()
        number = await self._contactable(number)
        channels = await self.channels_for(number)
        if not channels:
            self._refused("no_channel")
            raise DeflectionRefused("no_channel")
        token = new_token()
        link = await self.links.create(
            token=token, purpose=LinkPurpose.RATING, number=number, call_id=call_id, language=lang(language),
            channel=channels[0], reason="post_call_rating", queue=queue, context=context, consent_id=None,
            now=self._clock(), ttl=timedelta(hours=max(self._settings.link_ttl_hours, 24.0 * 3)),
            stages=(Stage.OFFERED,),
        )
        self._announce(link, Stage.OFFERED, channels[0])
        if not_before is not None:
            out = self._outbound(link, token, channels[0], kind="rating")
            # The token is not kept: a fresh one replaces it when the message finally goes out.
            await self.messages.add(
                direction=Direction.OUT, channel=channels[0], provider=self._providers[channels[0]].name,
                number=number, body=_redact(out.body, token), status=MessageStatus.DEFERRED,
                now=self._clock(), link_id=link.id, call_id=call_id, not_before=not_before,
            )
            log.info("rating link deferred", extra={"link_id": link.id, "until": not_before.isoformat()})
            return link
        await self._deliver(link, token, channels, kind="rating")
        return link

    async def send_due_deferred(self) -> int:
        """Send the deferred messages whose time has come; returns how many were sent."""
        if self.templates is not None:
            await self.templates.ensure_loaded()
        sent = 0
        for msg in await self.messages.due_deferred(self._clock()):
            if not await self.messages.claim_deferred(msg.id, self._clock()):
                continue
            if await self.optouts.is_opted_out(msg.number):
                await self.messages.failed(msg.id, "opted out before sending", self._clock())
                continue
            provider = self._providers.get(msg.channel)
            if provider is None:
                await self.messages.failed(msg.id, f"no {msg.channel.value} provider", self._clock())
                continue
            if msg.link_id is None:  # a complete text (a reply to a case): it goes out as written
                out = OutboundMessage(to=msg.number, body=msg.body, template=_template_of(msg.template),
                                      status_callback=self._status_callback(msg.channel))
                if await self._send_one(provider, out, msg.id, None, msg.channel):
                    sent += 1
                continue
            link = await self.links.get(msg.link_id)
            if link is None:
                await self.messages.failed(msg.id, "link gone", self._clock())
                continue
            token = new_token()
            await self.links.rotate(link.id, token)
            kind = "rating" if link.purpose is LinkPurpose.RATING else "link"
            out = self._outbound(link, token, msg.channel, kind=kind)
            keep = provider.name == "outbox"
            await self.messages.rebody(msg.id, out.body if keep else _redact(out.body, token),
                                       out.template if keep else _redact_template(out.template, token))
            if await self._send_one(provider, out, msg.id, msg.link_id, msg.channel):
                sent += 1
        return sent

    # ------------------------------------------------------------------ lifecycle

    async def reach(self, link: LinkRecord, stage: Stage) -> None:
        if await self.links.reach(link.id, stage, self._clock()):
            self._announce(link, stage, link.channel)

    async def apply_status(self, provider: str, provider_message_id: str, status: MessageStatus,
                           error: str | None = None) -> MessageRecord | None:
        msg = await self.messages.apply_status(provider, provider_message_id, status, self._clock(), error)
        if msg is None or msg.link_id is None:
            return msg
        link = await self.links.get(msg.link_id)
        if link is not None and status in (MessageStatus.DELIVERED, MessageStatus.READ):
            await self.reach(link, Stage.DELIVERED)
        if link is not None and status is MessageStatus.FAILED:
            await self.links.mark_failed(link.id, self._clock())
        return msg

    async def declined(self, number: str, reason: str) -> None:
        """An offer turned down on the phone: no link exists, so only the funnel counts it."""
        self.metrics.declined.labels(reason=reason).inc()
        self.metrics.stage(Stage.OFFERED, "none")

    async def stats(self) -> dict[str, int]:
        return await self.links.stage_counts()

    def normalised(self, number: str) -> str:
        """E.164, or raise DeflectionRefused("invalid_number")."""
        try:
            return to_e164(number, self.contact.default_region)
        except InvalidNumber:
            raise DeflectionRefused("invalid_number") from None

    def url_for(self, token: str) -> str:
        return f"{self._base}/c/{token}"

    # ------------------------------------------------------------------ free texts (case replies)

    async def contactable(self, raw: str) -> str:
        """E.164 of a number we may message; ``DeflectionRefused`` (invalid_number, opted_out) if not."""
        return await self._contactable(raw)

    def provider_for(self, channel: MessageChannel) -> MessageProvider | None:
        return self._providers.get(channel)

    def text(self, language: str, key: str, **values: str) -> str:
        return self._text(language, key, **values)

    def status_callback(self, channel: MessageChannel) -> str | None:
        return self._status_callback(channel)

    async def send_stored(self, provider: MessageProvider, out: OutboundMessage, message_id: int,
                          channel: MessageChannel) -> bool:
        """Send a message already stored (no link); False when the provider failed (recorded)."""
        return await self._send_one(provider, out, message_id, None, channel)

    # ------------------------------------------------------------------ internals

    async def _contactable(self, raw: str) -> str:
        try:
            number = to_e164(raw, self.contact.default_region)
        except InvalidNumber:
            self._refused("invalid_number")
            raise DeflectionRefused("invalid_number") from None
        if await self.optouts.is_opted_out(number):
            self._refused("opted_out")
            raise DeflectionRefused("opted_out")
        return number

    def _outbound(self, link: LinkRecord, token: str, channel: MessageChannel, *, kind: str) -> OutboundMessage:
        url = self.url_for(token)
        if channel is MessageChannel.WHATSAPP:
            body = self._text(link.language, f"{kind}_whatsapp", url=url, ref=link.reference)
            template = TemplateMessage(self._settings.meta_template, WHATSAPP_LANGUAGE[link.language],
                                       (link.reference, url))
            return OutboundMessage(to=link.number, body=body, template=template,
                                   status_callback=self._status_callback(channel))
        body = self._text(link.language, f"{kind}_sms", url=url, ref=link.reference)
        return OutboundMessage(to=link.number, body=body, status_callback=self._status_callback(channel))

    def _text(self, language: str, key: str, **values: str) -> str:
        if self.templates is None:
            return message(language, key, **values)
        return self.templates.render(language, key, **values)

    def _status_callback(self, channel: MessageChannel) -> str | None:
        return f"{self._base}/webhooks/twilio/status" if channel is MessageChannel.SMS else None

    async def _deliver(self, link: LinkRecord, token: str, channels: list[MessageChannel], *, kind: str) -> SentLink:
        for channel in channels:
            provider = self._providers[channel]
            out = self._outbound(link, token, channel, kind=kind)
            record = await self.messages.add(
                direction=Direction.OUT, channel=channel, provider=provider.name, number=link.number,
                body=out.body if provider.name == "outbox" else _redact(out.body, token),
                template=out.template if provider.name == "outbox" else _redact_template(out.template, token),
                status=MessageStatus.QUEUED, now=self._clock(),
                link_id=link.id, call_id=link.call_id,
            )
            if await self._send_one(provider, out, record.id, link.id, channel):
                if channel is not link.channel:
                    await self.links.set_channel(link.id, channel)
                return SentLink(link, self.url_for(token), channel, record)
        await self.links.mark_failed(link.id, self._clock())
        self._refused("provider_failed")
        raise DeflectionRefused("provider_failed")

    async def _send_one(self, provider: MessageProvider, out: OutboundMessage, message_id: int,
                        link_id: str | None, channel: MessageChannel) -> bool:
        try:
            receipt = await provider.send(out)
        except ProviderError as exc:
            # Fail open for the caller (the flow says it could not send), loudly here.
            log.error("message provider failed", extra={"provider": provider.name, "error": str(exc),
                                                         "number": mask_number(out.to), "link_id": link_id})
            await self.messages.failed(message_id, str(exc), self._clock())
            return False
        await self.messages.sent(message_id, receipt.provider_message_id, receipt.status, self._clock())
        if link_id is not None:
            link = await self.links.get(link_id)
            if link is not None:
                await self.reach(link, Stage.SENT)
        log.info("link sent", extra={"provider": provider.name, "channel": channel.value,
                                     "number": mask_number(out.to), "link_id": link_id})
        return True

    def _announce(self, link: LinkRecord, stage: Stage, channel: MessageChannel) -> None:
        self.metrics.stage(stage, channel.value)
        self._bus.publish(DeflectionLifecycle(link_id=link.id, stage=stage.value, channel=channel.value))

    def _refused(self, reason: str) -> None:
        self.metrics.refused.labels(reason=reason).inc()


def _redact(text: str, token: str) -> str:
    """Message records keep no live token (the outbox is the delivery itself, so it keeps it)."""
    return text.replace(token, "[token]")


def _template_of(stored: dict[str, Any] | None) -> TemplateMessage | None:
    if not stored:
        return None
    return TemplateMessage(str(stored["name"]), str(stored["language"]),
                           tuple(str(p) for p in stored.get("parameters", ())))


def _redact_template(template: TemplateMessage | None, token: str) -> TemplateMessage | None:
    if template is None:
        return None
    return TemplateMessage(template.name, template.language, tuple(_redact(p, token) for p in template.parameters))


__all__ = ["Consent", "DeflectionService", "SentLink"]
