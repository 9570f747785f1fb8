"""Offers made to a caller: a link by WhatsApp/SMS (deflection) and a callback.

Used by the flow engine (``offer_deflection`` / ``offer_callback`` nodes, the after-hours menu) and
by the ACD hold loop (keys pressed while waiting), so the signatures are a contract. Both ask
before acting, record what the caller said, and tell the caller what happened. Their prompts are
in ``prompts/catalogue/offers.yaml``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ivr.channel import Channel, Grammar, InputMode, InputSpec, PromptFile
from ivr.context import CallContext
from ivr.dialogs.speaking import say_duration
from ivr.dialogs.yesno import Answer, ask_yes_no, played, prompt_files, publish, record_input
from ivr.events.flow import CallbackRequested, CallError, DeflectionOffered, DeflectionSent
from ivr.ports import (
    CallbackPort,
    CallbackRefused,
    CallbackRequest,
    CallbackSource,
    CallbackTicket,
    CallEvents,
    Consent,
    ConsentMethod,
    DeflectionPort,
    DeflectionRefused,
    DeflectionRequest,
    LinkTicket,
    MessageChannel,
)
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)

P_CHOOSE_CHANNEL = "offer/link_choose_channel"  # "1 for WhatsApp, 2 for a text message"
P_LINK_SENT = "offer/link_sent"
P_LINK_FAILED = "offer/link_failed"
P_CALLBACK_CONFIRM = "offer/callback_confirm"  # "we will call you back at this number: 1 yes, 2 no"
P_CALLBACK_SOON = "offer/callback_soon"
P_CALLBACK_IN = "offer/callback_in"  # "we will call you back in about" + a duration
P_CALLBACK_LATER = "offer/callback_next_open"  # "we will call you back when we open"
P_CALLBACK_FAILED = "offer/callback_failed"
OFFER_PROMPTS = (
    P_CHOOSE_CHANNEL, P_LINK_SENT, P_LINK_FAILED, P_CALLBACK_CONFIRM, P_CALLBACK_SOON, P_CALLBACK_IN,
    P_CALLBACK_LATER, P_CALLBACK_FAILED,
)
SOON = timedelta(minutes=10)
SAME_DAY = timedelta(hours=12)
_CHANNEL_WORDS = {
    "1": ("whatsapp", "guasap", "wasap"),
    "2": ("sms", "mensaje", "mensaje de texto", "text", "text message"),
}


async def _declined(port: DeflectionPort, number: str, reason: str) -> None:
    try:
        await port.declined(number, reason)
    except Exception:
        log.exception("could not record a declined offer")


async def offer_deflection(
    channel: Channel,
    ctx: CallContext,
    port: DeflectionPort,
    prompts: PromptCatalogue,
    recorder: CallEvents,
    *,
    reason: str,
    consent_prompt_id: str,
) -> LinkTicket | None:
    """Ask consent, let the caller pick WhatsApp or SMS, send the link; the ticket or None."""
    node = f"offer:deflection:{reason}"
    call_id = ctx.info.call_id
    try:
        available = await port.channels_for(ctx.info.caller)
    except DeflectionRefused as exc:
        log.info("no link can be offered", extra={"reason": str(exc)})
        available = []
    if not available:
        publish(recorder, DeflectionOffered(call_id=call_id, node=node, reason=reason, offered=False,
                                            why="no message channel for this number"))
        return None
    answer, result = await ask_yes_no(channel, ctx, prompts, recorder, node=node, prompt_ids=[consent_prompt_id])
    version = prompts.version(consent_prompt_id)
    publish(recorder, DeflectionOffered(
        call_id=call_id, node=node, reason=reason, offered=True, answer=answer.value, prompt_id=consent_prompt_id,
        prompt_version=version, consent_mode=result.mode.value if result else None))
    if answer is not Answer.YES or result is None:
        await _declined(port, ctx.info.caller, reason)
        return None
    consent = Consent(
        method=ConsentMethod.SPEECH if result.mode is InputMode.SPEECH else ConsentMethod.KEY,
        at=datetime.now(UTC),
        prompt_id=consent_prompt_id,
        prompt_version=version,
    )
    chosen = await _choose_channel(_Talk(channel, ctx, prompts, recorder, node), available)
    request = DeflectionRequest(
        number=ctx.info.caller, context=ctx.snapshot(reason), reason=reason, consent=consent, channel=chosen
    )
    try:
        ticket = await port.send_link(request)
    except DeflectionRefused as exc:
        log.warning("link not sent", extra={"reason": str(exc)})
        publish(recorder, CallError(call_id=call_id, node=node, error="deflection_refused", detail=str(exc)))
        await _Talk(channel, ctx, prompts, recorder, node).say([P_LINK_FAILED])
        return None
    publish(recorder, DeflectionSent(call_id=call_id, node=node, link_id=ticket.link_id, reference=ticket.reference,
                                     channel=ticket.channel.value))
    await _Talk(channel, ctx, prompts, recorder, node).say([P_LINK_SENT])
    return ticket


async def _choose_channel(talk: _Talk, available: list[MessageChannel]) -> MessageChannel:
    """WhatsApp or SMS when both work (1 / 2, or said); otherwise, or without an answer, the best."""
    if not {MessageChannel.WHATSAPP, MessageChannel.SMS} <= set(available):
        return available[0]
    phrases = {w: key for key, words in _CHANNEL_WORDS.items() for w in words}
    lang = talk.ctx.language
    files = prompt_files(talk.prompts, [P_CHOOSE_CHANNEL], lang)
    result = await talk.channel.collect(files, InputSpec(max_digits=1, grammar=Grammar(lang, phrases)))
    played(talk.recorder, talk.ctx.info.call_id, files, node=talk.node)
    if result.mode is not InputMode.NONE:
        record_input(talk.recorder, talk.ctx, talk.node, result)
    key = result.digits[:1] if result.mode is InputMode.DTMF else result.key
    if key == "1":
        return MessageChannel.WHATSAPP
    if key == "2":
        return MessageChannel.SMS
    return available[0]


async def offer_callback(
    channel: Channel,
    ctx: CallContext,
    port: CallbackPort,
    prompts: PromptCatalogue,
    recorder: CallEvents,
    *,
    queue: str,
    source: CallbackSource,
    not_before: datetime | None = None,
    arrival_time: datetime | None = None,
) -> CallbackTicket | None:
    """Confirm, request the callback, tell the caller when; the ticket or None."""
    node = f"offer:callback:{queue}"
    answer, _ = await ask_yes_no(channel, ctx, prompts, recorder, node=node, prompt_ids=[P_CALLBACK_CONFIRM])
    if answer is not Answer.YES:
        publish(recorder, CallbackRequested(call_id=ctx.info.call_id, node=node, queue=queue, source=source.value,
                                            accepted=False))
        return None
    request = CallbackRequest(
        number=ctx.info.caller,
        queue=queue,
        source=source,
        context=ctx.snapshot(f"callback:{source.value}"),
        not_before=not_before,
        arrival_time=arrival_time,
        waited_seconds=ctx.waited_seconds or 0.0,
        language=ctx.language,
    )
    try:
        ticket = await port.request(request)
    except CallbackRefused as exc:
        log.warning("callback refused", extra={"queue": queue, "reason": str(exc)})
        publish(recorder, CallError(call_id=ctx.info.call_id, node=node, error="callback_refused", detail=str(exc)))
        await _Talk(channel, ctx, prompts, recorder, node).say([P_CALLBACK_FAILED])
        return None
    publish(recorder, CallbackRequested(
        call_id=ctx.info.call_id, node=node, queue=queue, source=source.value, accepted=True,
        callback_id=ticket.callback_id, scheduled_for=ticket.scheduled_for.isoformat(), merged=ticket.merged))
    await _Talk(channel, ctx, prompts, recorder, node).say_when(ticket.scheduled_for - datetime.now(UTC))
    return ticket


@dataclass(frozen=True, slots=True)
class _Talk:
    """Playing to the caller from one offer, with every prompt recorded."""

    channel: Channel
    ctx: CallContext
    prompts: PromptCatalogue
    recorder: CallEvents
    node: str

    async def say(self, ids: list[str]) -> None:
        await self.play(prompt_files(self.prompts, ids, self.ctx.language))

    async def play(self, files: list[PromptFile]) -> None:
        if files:
            await self.channel.play(files)
        played(self.recorder, self.ctx.info.call_id, files, node=self.node)

    async def say_when(self, delay: timedelta) -> None:
        if delay <= SOON:
            await self.say([P_CALLBACK_SOON])
        elif delay <= SAME_DAY:
            files = prompt_files(self.prompts, [P_CALLBACK_IN], self.ctx.language)
            await self.play(files + say_duration(self.prompts, delay.total_seconds(), self.ctx.language))
        else:
            await self.say([P_CALLBACK_LATER])
