"""The hold loop: a caller waiting in a Puente queue, on any :class:`~ivr.channel.Channel`.

Music on hold in slices (until the next announcement, the max wait, a key, or an agent offer),
position and EWT announced in bands at entry and periodically, keys 1 (callback keeping the place)
and 2 (a link by SMS/WhatsApp) offered while the EWT is above the queue's thresholds
(:mod:`ivr.acd.holdannounce`), overflow at max wait (:mod:`ivr.acd.holdexit`), connection to the
routed agent (:mod:`ivr.acd.holdconnect`), and every exit recorded (events, contacts, predictions).
The caller's state, and the port to the ACD, are in :mod:`ivr.acd.holdcall`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta

from ivr.acd.holdannounce import (
    KEY_CALLBACK,
    KEY_LINK,
    announce,
    callback_booked,
    estimate_moved,
    link_key,
    offer_keys,
    store_prediction,
)
from ivr.acd.holdcall import HoldCall, HoldDeps
from ivr.acd.holdconnect import connect_agent
from ivr.acd.holdexit import caller_left, leave_line, no_agents, to_overflow
from ivr.acd.types import EntryKind, UnknownQueue
from ivr.channel import CallerHungUp, Channel
from ivr.events.types import QueueJoined, QueueLeft, QueueUnstaffed
from ivr.ports import QueueOutcome, QueueOutcomeKind, QueueRequest

log = logging.getLogger(__name__)


class HoldSession:
    def __init__(self, deps: HoldDeps, channel: Channel, request: QueueRequest) -> None:
        self.call = HoldCall(deps, channel, request)

    # ------------------------------------------------------------------ entry point
    async def run(self) -> QueueOutcome:
        call = self.call
        service, request = call.d.service, call.request
        try:
            call.cfg = service.queue_config(request.queue)
        except UnknownQueue:
            log.error("unknown queue", extra={"queue": request.queue})
            return QueueOutcome(QueueOutcomeKind.UNAVAILABLE)
        if service.staffed(call.cfg.name) == 0:
            service.bus.publish(QueueUnstaffed(call_id=call.call_id, queue=call.cfg.name, joined=False))
            return QueueOutcome(QueueOutcomeKind.UNAVAILABLE)
        arrival = service.clock() - timedelta(seconds=max(request.credit_seconds, 0.0))
        call.waiter = service.join(call.cfg.name, arrival=arrival, priority=request.priority,
                                   kind=EntryKind.CALL, call_id=call.call_id)
        call.ctx.queue = call.cfg.name
        prediction = service.estimate_for(call.waiter)
        ewt = prediction.seconds if prediction else (0.0 if call.waiter.assignment else None)
        call.ctx.ewt_seconds = call.ewt_at_join = ewt
        service.bus.publish(QueueJoined(call_id=call.call_id, queue=call.cfg.name,
                                        position=call.waiter.position_at_join, ewt_seconds=ewt,
                                        credit_seconds=request.credit_seconds, priority=request.priority))
        await store_prediction(call)
        try:
            return await self._loop()
        except CallerHungUp:
            return await caller_left(call)
        finally:
            if service.in_line(call.waiter.entry_id):  # cancelled, or an error: never leak
                position = service.leave(call.waiter)
                service.bus.publish(QueueLeft(call_id=call.call_id, queue=call.waiter.queue, outcome="interrupted",
                                              waited_seconds=call.waited_this_call(), position=position,
                                              credit_seconds=max(request.credit_seconds, 0.0)))

    # ------------------------------------------------------------------ the loop
    async def _loop(self) -> QueueOutcome:
        call = self.call
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = call.cfg.max_wait_seconds
        next_announcement = call.cfg.announcements.first_after
        while True:
            if call.waiter.assignment is not None:
                outcome = await connect_agent(call)
                if outcome is not None:
                    return outcome
                if call.transferred:  # in another queue now: its own max wait, and tell the caller
                    call.transferred = False
                    deadline = call.elapsed + call.cfg.max_wait_seconds
                    next_announcement = call.elapsed
                continue
            call.elapsed = max(call.elapsed, loop.time() - started)
            if call.waiter.wake.is_set():
                call.waiter.wake.clear()  # woken without an offer: the queue's staffing changed
            if call.d.service.staffed(call.cfg.name) == 0:
                outcome = await no_agents(call)
                if outcome is not None:
                    return outcome
                deadline = call.elapsed + call.cfg.max_wait_seconds
                continue
            if estimate_moved(call):
                next_announcement = call.elapsed
            if call.elapsed >= deadline:
                outcome = await to_overflow(call)
                if outcome is not None:
                    return outcome
                deadline = call.elapsed + call.cfg.max_wait_seconds
                continue
            keys = offer_keys(call)
            digit: str | None
            if call.elapsed >= next_announcement:
                digit = await announce(call, keys)
                every = call.cfg.announcements.every
                next_announcement = call.elapsed + every if every > 0 else math.inf
            else:
                slice_seconds = min(next_announcement, deadline) - call.elapsed
                digit = await call.channel.hold(slice_seconds, interrupt_digits=keys, wake=call.waiter.wake)
                if digit is None and not call.waiter.wake.is_set():
                    call.elapsed += slice_seconds  # the slice ran out (virtual channels report no time)
            if digit == KEY_CALLBACK and KEY_CALLBACK in keys:
                if await callback_booked(call):
                    return await leave_line(call, QueueOutcomeKind.CALLBACK)
            elif digit == KEY_LINK and KEY_LINK in keys:
                await link_key(call)
