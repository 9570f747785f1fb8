"""How a caller leaves the line without an agent, and the record of every exit: the queue lost its
last agent, the max wait ran out (overflow to another queue, a callback or back to the flow), the
caller booked a callback or hung up (an abandon, which may book one by the queue's policy)."""

from __future__ import annotations

import logging
from datetime import datetime

from ivr.acd.config import OverflowKind
from ivr.acd.holdannounce import callback_booked
from ivr.acd.holdcall import HoldCall, fail_open
from ivr.acd.store import ContactRecord
from ivr.acd.types import EntryKind, UnknownQueue
from ivr.events.types import QueueLeft, QueueOverflowed, QueueUnstaffed
from ivr.ports import CallbackRefused, CallbackRequest, CallbackSource, QueueOutcome, QueueOutcomeKind

log = logging.getLogger(__name__)

P_NO_AGENTS = "queue/no_agents"


async def no_agents(call: HoldCall) -> QueueOutcome | None:
    """The queue lost its last staffed agent (or closed) while the caller waits: say so now
    and offer the queue's overflow (callback keeping the place, another queue, the flow)."""
    call.unstaffed_from.add(call.cfg.name)
    call.d.service.bus.publish(QueueUnstaffed(call_id=call.call_id, queue=call.waiter.queue, joined=True))
    notice = call.files([P_NO_AGENTS])
    if notice:
        await call.channel.play(notice)
    overflow = call.cfg.overflow
    if overflow.kind is OverflowKind.QUEUE and overflow.target in call.unstaffed_from:
        return await leave_line(call, QueueOutcomeKind.UNAVAILABLE)  # every queue on the way is empty
    return await to_overflow(call)


async def to_overflow(call: HoldCall) -> QueueOutcome | None:
    overflow = call.cfg.overflow
    source = call.waiter.queue
    if overflow.kind is OverflowKind.QUEUE and overflow.target is not None:
        try:
            target = call.d.service.queue_config(overflow.target)
        except UnknownQueue:
            log.error("overflow to an unknown queue", extra={"queue": overflow.target})
        else:
            call.d.service.move(call.waiter, target.name)
            call.cfg = target
            call.ctx.queue = target.name
            call.d.service.bus.publish(QueueOverflowed(call_id=call.call_id, queue=source, overflow=str(overflow),
                                                       target=target.name))
            return None
    call.d.service.bus.publish(QueueOverflowed(call_id=call.call_id, queue=source, overflow=str(overflow)))
    offers_callback = overflow.kind is OverflowKind.CALLBACK and call.d.callbacks is not None \
        and call.d.prompts is not None
    if offers_callback and await callback_booked(call):
        return await leave_line(call, QueueOutcomeKind.CALLBACK)
    return await leave_line(call, QueueOutcomeKind.OVERFLOW)


async def leave_line(call: HoldCall, kind: QueueOutcomeKind) -> QueueOutcome:
    position = call.d.service.leave(call.waiter)
    return await record_exit(call, kind, call.waited_this_call(), position)


async def caller_left(call: HoldCall) -> QueueOutcome:
    service = call.d.service
    if not service.in_line(call.waiter.entry_id):  # already out of line (served...)
        return QueueOutcome(QueueOutcomeKind.ABANDONED, call.waited())
    total = call.waited()
    waited, position = service.abandoned(call.waiter)
    kind = QueueOutcomeKind.DEFLECTED if call.link_sent else QueueOutcomeKind.ABANDONED
    outcome = await record_exit(call, kind, waited, position)
    if kind is QueueOutcomeKind.ABANDONED and call.d.callbacks is not None:
        await abandon_callback(call, total, position)
    return outcome


async def abandon_callback(call: HoldCall, waited: float, position: int | None) -> None:
    assert call.d.callbacks is not None
    request = CallbackRequest(
        number=call.channel.info.caller, queue=call.waiter.queue, source=CallbackSource.ABANDON,
        context=call.ctx.snapshot("abandon"), arrival_time=call.waiter.arrival, waited_seconds=waited,
        position=position, language=call.ctx.language)
    try:
        await call.d.callbacks.request(request)
    except CallbackRefused as exc:
        log.info("no callback after abandon", extra={"queue": call.waiter.queue, "reason": str(exc)})
    except Exception:
        log.exception("callback policy failed after an abandon", extra={"queue": call.waiter.queue})


async def record_exit(call: HoldCall, kind: QueueOutcomeKind, waited: float, position: int | None, *,
                      left_at: datetime | None = None, agent_id: str | None = None,
                      handle: float | None = None, talk: float | None = None) -> QueueOutcome:
    """``waited`` is this call's time in line (SL, ASA, abandons and the EWT error are about it);
    the outcome and the call's record carry the total with a returning caller's credit."""
    service, store = call.d.service, call.d.store
    left_at = left_at or service.clock()
    total = waited + max(call.request.credit_seconds, 0.0)
    call.ctx.waited_seconds = total
    within = waited <= call.cfg.service_level.seconds if kind is QueueOutcomeKind.CONNECTED else None
    heard = call.first_heard
    service.bus.publish(QueueLeft(call_id=call.call_id, queue=call.waiter.queue, outcome=kind.value,
                                  waited_seconds=waited, position=position, ewt_predicted=call.ewt_at_join,
                                  within_service_level=within,
                                  ewt_announced=heard[0] if heard else None,
                                  ewt_band_low=heard[1].low_seconds if heard else None,
                                  ewt_band_high=heard[1].high_seconds if heard else None,
                                  waited_after_announcement=max(waited - heard[2], 0.0) if heard else None,
                                  credit_seconds=total - waited, agent_id=agent_id, talk_seconds=talk))
    if store is not None:
        await fail_open("predictions", store.resolve_predictions(call.waiter.entry_id, left_at=left_at,
                                                                  outcome=kind.value))
        await fail_open("contact", store.record_contact(ContactRecord(
            entry_id=call.waiter.entry_id, call_id=call.call_id, queue=call.waiter.queue,
            kind=EntryKind.CALL.value, arrival=call.waiter.arrival, joined_at=call.waiter.joined_at,
            left_at=left_at, outcome=kind.value, waited_seconds=waited,
            position_at_join=call.waiter.position_at_join, position_at_exit=position, agent_id=agent_id,
            handle_seconds=handle, priority=call.waiter.priority)))
    return QueueOutcome(kind, waited_seconds=total, agent_id=agent_id, position_at_exit=position)
