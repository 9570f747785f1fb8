"""What a caller on hold hears and may press: position and EWT announced in bands (at entry,
periodically, and again when the estimate moved a lot), keys 1 (a callback keeping the place) and
2 (a link by SMS/WhatsApp) offered while the EWT is above the queue's thresholds, and every
estimate given stored, to learn from what followed."""

from __future__ import annotations

import logging
import math

from ivr.acd.ewt import Prediction
from ivr.acd.holdcall import HoldCall, fail_open
from ivr.acd.store import AnnouncedBand
from ivr.channel import InputSpec
from ivr.dialogs.offers import offer_callback, offer_deflection
from ivr.events.types import QueueAnnounced
from ivr.ports import CallbackSource
from ivr.prompts.speech_numbers import say_position, say_wait_band, wait_band

log = logging.getLogger(__name__)

P_ALL_BUSY = "queue/all_busy"
P_OFFER_CALLBACK = "queue/offer_callback"
P_OFFER_LINK = "queue/offer_link"
P_LINK_CONSENT = "queue/link_consent"
P_KEEP_WAITING = "queue/keep_waiting"
# re-announce before the next periodic announcement when the estimate moved by this factor
EWT_MOVED_FACTOR = 1.5
KEY_CALLBACK, KEY_LINK, KEY_KEEP_WAITING = "1", "2", "1"


def heard_band(prediction: Prediction) -> AnnouncedBand:
    band = wait_band(prediction.seconds, prediction.spread)
    low, high = band.bounds()
    return AnnouncedBand(band.label(), low, None if math.isinf(high) else high)


def estimate_moved(call: HoldCall) -> bool:
    """A staffing change moved the estimate a lot since the caller last heard it."""
    if call.announced_seconds is None:
        return False
    prediction = call.d.service.estimate_for(call.waiter)
    if prediction is None:
        return False
    before, now = max(call.announced_seconds, 30.0), max(prediction.seconds, 30.0)
    return max(before / now, now / before) >= EWT_MOVED_FACTOR


def offer_keys(call: HoldCall) -> str:
    if call.d.prompts is None:
        return ""
    prediction = call.d.service.estimate_for(call.waiter)
    if prediction is None:
        return ""
    keys = ""
    above_cb = call.cfg.offer_callback_ewt_above
    if call.d.callbacks is not None and above_cb is not None and prediction.seconds > above_cb:
        keys += KEY_CALLBACK
    above_link = call.cfg.offer_link_ewt_above
    if call.d.deflection is not None and not call.link_sent and above_link is not None \
            and prediction.seconds > above_link:
        keys += KEY_LINK
    return keys


async def announce(call: HoldCall, keys: str) -> str | None:
    prompts, lang = call.d.prompts, call.ctx.language
    if prompts is None:
        return None
    position = call.d.service.position_of(call.waiter.entry_id)
    prediction = call.d.service.estimate_for(call.waiter)
    files = call.files([P_ALL_BUSY]) if call.first_announcement else []
    call.first_announcement = False
    try:
        if call.cfg.announcements.position and position is not None:
            files += say_position(prompts, position, lang)
        if call.cfg.announcements.wait and prediction is not None:
            files += say_wait_band(prompts, prediction.seconds, lang, prediction.spread)
    except LookupError:
        log.exception("queue announcement words missing", extra={"lang": lang})
    files += call.files(([P_OFFER_CALLBACK] if KEY_CALLBACK in keys else [])
                         + ([P_OFFER_LINK] if KEY_LINK in keys else []))
    if not files:
        return None
    digit = await call.channel.play(files, interrupt_digits=keys)
    ewt = prediction.seconds if prediction else None
    call.ctx.ewt_seconds = call.announced_seconds = ewt
    heard = heard_band(prediction) if prediction is not None and call.cfg.announcements.wait else None
    if heard is not None and call.first_heard is None and prediction is not None:
        call.first_heard = (prediction.seconds, heard, call.waited_this_call())
    call.d.service.bus.publish(QueueAnnounced(
        call_id=call.call_id, queue=call.cfg.name, position=position, ewt_seconds=ewt,
        band=heard.label if heard else None, method=prediction.method.value if prediction else None, keys=keys))
    if prediction is not None and position is not None:  # stored even if an agent came during the play
        await store_prediction(call, heard, prediction, position)
    return digit


async def store_prediction(call: HoldCall, heard: AnnouncedBand | None = None,
                           prediction: Prediction | None = None, position: int | None = None) -> None:
    store, service = call.d.store, call.d.service
    if prediction is None:
        prediction = service.estimate_for(call.waiter)
        position = service.position_of(call.waiter.entry_id)
    if store is None or prediction is None or position is None:
        return
    await fail_open("prediction", store.add_prediction(
        entry_id=call.waiter.entry_id, call_id=call.call_id, queue=call.waiter.queue, at=service.clock(),
        predicted_seconds=prediction.seconds, method=prediction.method.value, ahead=position - 1,
        servers=service.staffed(call.waiter.queue), band=heard, model_seconds=prediction.model_seconds))


async def callback_booked(call: HoldCall) -> bool:
    """Key 1 (or the overflow to a callback): True when the caller booked a callback keeping the
    place, and so leaves the line (:func:`ivr.acd.holdexit.leave_line`)."""
    callbacks, prompts = call.d.callbacks, call.d.prompts
    if callbacks is None or prompts is None:
        return False
    call.ctx.waited_seconds = call.waited()
    ticket = await offer_callback(call.channel, call.ctx, callbacks, prompts, call.d.recorder,
                                  queue=call.waiter.queue, source=CallbackSource.QUEUE_KEY,
                                  arrival_time=call.waiter.arrival)
    return ticket is not None


async def link_key(call: HoldCall) -> None:
    deflection, prompts = call.d.deflection, call.d.prompts
    if deflection is None or prompts is None:
        return
    call.ctx.waited_seconds = call.waited()
    ticket = await offer_deflection(call.channel, call.ctx, deflection, prompts, call.d.recorder,
                                    reason="queue_wait", consent_prompt_id=P_LINK_CONSENT)
    if ticket is None:
        return
    call.link_sent = True  # from now on, hanging up means "I'll continue in writing"
    await call.channel.collect(call.files([P_KEEP_WAITING]),
                               InputSpec(max_digits=1, first_timeout=8.0, terminator=""))
