"""The hold loop: a caller waiting in a Puente queue, on any :class:`~ivr.channel.Channel`.

Music on hold in slices (until the next announcement, the max wait, a key, or an agent offer),
position and EWT announced in bands at entry and periodically, keys 1 (callback keeping the place)
and 2 (a link by SMS/WhatsApp) offered while the EWT is above the queue's thresholds, overflow at
max wait, connection to the routed agent, and every exit recorded (events, contacts, predictions).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ivr.acd.config import OverflowKind, QueueConfig
from ivr.acd.ewt import Prediction
from ivr.acd.store import AcdStore, AnnouncedBand, ContactRecord
from ivr.acd.types import AgentAssignment, EntryKind, UnknownQueue, Waiter
from ivr.callcontrol import CallControls, LiveBridge
from ivr.channel import CallerHungUp, Channel, ConnectResult, DialStatus, InputSpec, PromptFile
from ivr.dialogs.offers import offer_callback, offer_deflection
from ivr.events import EventBus
from ivr.events.types import (
    AgentConnected,
    AgentMissed,
    AgentOffered,
    QueueAnnounced,
    QueueJoined,
    QueueLeft,
    QueueOverflowed,
    QueueTransfer,
    QueueUnstaffed,
)
from ivr.ports import (
    CallbackPort,
    CallbackRefused,
    CallbackRequest,
    CallbackSource,
    CallRecorder,
    DeflectionPort,
    QueueOutcome,
    QueueOutcomeKind,
    QueueRequest,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.speech_numbers import say_position, say_wait_band, wait_band

log = logging.getLogger(__name__)

P_ALL_BUSY = "queue/all_busy"
P_OFFER_CALLBACK = "queue/offer_callback"
P_OFFER_LINK = "queue/offer_link"
P_CONNECTING = "queue/connecting"
P_LINK_CONSENT = "queue/link_consent"
P_KEEP_WAITING = "queue/keep_waiting"
P_NO_AGENTS = "queue/no_agents"
# re-announce before the next periodic announcement when the estimate moved by this factor
EWT_MOVED_FACTOR = 1.5
KEY_CALLBACK, KEY_LINK, KEY_KEEP_WAITING = "1", "2", "1"


@dataclass
class _Answer:
    """When the offered agent answered (None until then)."""

    at: datetime | None = None
    loop_at: float | None = None
    answered_at_hint: datetime | None = None
    ring_seconds: float = 0.0
    waited: float = 0.0


class WaitingLine(Protocol):
    """What the hold loop needs from the ACD (:class:`ivr.acd.service.AcdService`, which runs the
    loop for the flow engine: the service depends on this module, this module only on the port)."""

    bus: EventBus
    clock: Callable[[], datetime]

    def queue_config(self, name: str) -> QueueConfig: ...

    def staffed(self, queue: str) -> int: ...

    def join(self, queue: str, *, arrival: datetime, priority: int, kind: EntryKind, call_id: str | None,
             entry_id: str | None = None, for_agent: str | None = None) -> Waiter: ...

    def in_line(self, entry_id: str) -> bool: ...

    def position_of(self, entry_id: str) -> int | None: ...

    def estimate_for(self, waiter: Waiter) -> Prediction | None: ...

    def move(self, waiter: Waiter, queue: str) -> None: ...

    def leave(self, waiter: Waiter) -> int | None: ...

    def answered(self, waiter: Waiter, *, answered_at: datetime) -> float: ...

    def no_answer(self, waiter: Waiter, status: DialStatus) -> None: ...

    def contact_ended(self, agent_id: str, queue: str, *, talk_seconds: float) -> float: ...

    def abandoned(self, waiter: Waiter) -> tuple[float, int | None]: ...


@dataclass
class HoldDeps:
    service: WaitingLine
    store: AcdStore | None
    recorder: CallRecorder
    prompts: PromptCatalogue | None = None
    callbacks: CallbackPort | None = None
    deflection: DeflectionPort | None = None
    controls: CallControls | None = None


async def _fail_open(what: str, awaitable: Awaitable[object]) -> None:
    """Bookkeeping must never cost the caller their call: log loudly and carry on."""
    try:
        await awaitable
    except Exception:
        log.exception("acd bookkeeping failed", extra={"step": what})


def _heard(prediction: Prediction) -> AnnouncedBand:
    band = wait_band(prediction.seconds, prediction.spread)
    low, high = band.bounds()
    return AnnouncedBand(band.label(), low, None if math.isinf(high) else high)


class HoldSession:
    def __init__(self, deps: HoldDeps, channel: Channel, request: QueueRequest) -> None:
        self.d = deps
        self.channel = channel
        self.request = request
        self.ctx = request.context
        self.call_id = channel.info.call_id
        self.link_sent = False
        self.first_announcement = True
        self.ewt_at_join: float | None = None
        self.announced_seconds: float | None = None
        # (estimate, band, when) first spoken; when = this call's time in line at that moment
        self.first_heard: tuple[float, AnnouncedBand, float] | None = None
        self.unstaffed_from: set[str] = set()  # queues this caller already left because nobody staffed them
        self.elapsed = 0.0  # seconds on hold (real time, or the hold slices a virtual channel reports)
        self.transferred = False  # the desk just moved the caller to another queue

    # ------------------------------------------------------------------ entry point
    async def run(self) -> QueueOutcome:
        service = self.d.service
        try:
            self.cfg = service.queue_config(self.request.queue)
        except UnknownQueue:
            log.error("unknown queue", extra={"queue": self.request.queue})
            return QueueOutcome(QueueOutcomeKind.UNAVAILABLE)
        if service.staffed(self.cfg.name) == 0:
            service.bus.publish(QueueUnstaffed(call_id=self.call_id, queue=self.cfg.name, joined=False))
            return QueueOutcome(QueueOutcomeKind.UNAVAILABLE)
        arrival = service.clock() - timedelta(seconds=max(self.request.credit_seconds, 0.0))
        self.waiter = service.join(self.cfg.name, arrival=arrival, priority=self.request.priority,
                                   kind=EntryKind.CALL, call_id=self.call_id)
        self.ctx.queue = self.cfg.name
        prediction = service.estimate_for(self.waiter)
        ewt = prediction.seconds if prediction else (0.0 if self.waiter.assignment else None)
        self.ctx.ewt_seconds = self.ewt_at_join = ewt
        service.bus.publish(QueueJoined(call_id=self.call_id, queue=self.cfg.name,
                                        position=self.waiter.position_at_join, ewt_seconds=ewt,
                                        credit_seconds=self.request.credit_seconds, priority=self.request.priority))
        await self._store_prediction()
        try:
            return await self._loop()
        except CallerHungUp:
            return await self._caller_left()
        finally:
            if service.in_line(self.waiter.entry_id):  # cancelled, or an error: never leak
                position = service.leave(self.waiter)
                service.bus.publish(QueueLeft(call_id=self.call_id, queue=self.waiter.queue, outcome="interrupted",
                                              waited_seconds=self._waited_this_call(), position=position,
                                              credit_seconds=max(self.request.credit_seconds, 0.0)))

    # ------------------------------------------------------------------ the loop
    async def _loop(self) -> QueueOutcome:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = self.cfg.max_wait_seconds
        next_announcement = self.cfg.announcements.first_after
        while True:
            if self.waiter.assignment is not None:
                outcome = await self._connect()
                if outcome is not None:
                    return outcome
                if self.transferred:  # in another queue now: its own max wait, and tell the caller
                    self.transferred = False
                    deadline = self.elapsed + self.cfg.max_wait_seconds
                    next_announcement = self.elapsed
                continue
            self.elapsed = max(self.elapsed, loop.time() - started)
            if self.waiter.wake.is_set():
                self.waiter.wake.clear()  # woken without an offer: the queue's staffing changed
            if self.d.service.staffed(self.cfg.name) == 0:
                outcome = await self._no_agents()
                if outcome is not None:
                    return outcome
                deadline = self.elapsed + self.cfg.max_wait_seconds
                continue
            if self._estimate_moved():
                next_announcement = self.elapsed
            if self.elapsed >= deadline:
                outcome = await self._overflow()
                if outcome is not None:
                    return outcome
                deadline = self.elapsed + self.cfg.max_wait_seconds
                continue
            keys = self._offer_keys()
            digit: str | None
            if self.elapsed >= next_announcement:
                digit = await self._announce(keys)
                every = self.cfg.announcements.every
                next_announcement = self.elapsed + every if every > 0 else math.inf
            else:
                slice_seconds = min(next_announcement, deadline) - self.elapsed
                digit = await self.channel.hold(slice_seconds, interrupt_digits=keys, wake=self.waiter.wake)
                if digit is None and not self.waiter.wake.is_set():
                    self.elapsed += slice_seconds  # the slice ran out (virtual channels report no time)
            if digit == KEY_CALLBACK and KEY_CALLBACK in keys:
                outcome = await self._callback_key()
                if outcome is not None:
                    return outcome
            elif digit == KEY_LINK and KEY_LINK in keys:
                await self._link_key()

    def _waited(self) -> float:
        """In line so far, with a returning caller's credit (what the caller lived through)."""
        return max((self.d.service.clock() - self.waiter.arrival).total_seconds(), 0.0)

    def _waited_this_call(self) -> float:
        return max((self.d.service.clock() - self.waiter.joined_at).total_seconds(), 0.0)

    def _estimate_moved(self) -> bool:
        """A staffing change moved the estimate a lot since the caller last heard it."""
        if self.announced_seconds is None:
            return False
        prediction = self.d.service.estimate_for(self.waiter)
        if prediction is None:
            return False
        before, now = max(self.announced_seconds, 30.0), max(prediction.seconds, 30.0)
        return max(before / now, now / before) >= EWT_MOVED_FACTOR

    def _offer_keys(self) -> str:
        if self.d.prompts is None:
            return ""
        prediction = self.d.service.estimate_for(self.waiter)
        if prediction is None:
            return ""
        keys = ""
        above_cb = self.cfg.offer_callback_ewt_above
        if self.d.callbacks is not None and above_cb is not None and prediction.seconds > above_cb:
            keys += KEY_CALLBACK
        above_link = self.cfg.offer_link_ewt_above
        if self.d.deflection is not None and not self.link_sent and above_link is not None \
                and prediction.seconds > above_link:
            keys += KEY_LINK
        return keys

    # ------------------------------------------------------------------ announcements
    def _files(self, ids: list[str]) -> list[PromptFile]:
        prompts, lang = self.d.prompts, self.ctx.language
        if prompts is None:
            return []
        return [prompts.file(i, lang) for i in ids if prompts.has(i, lang)]

    async def _announce(self, keys: str) -> str | None:
        prompts, lang = self.d.prompts, self.ctx.language
        if prompts is None:
            return None
        position = self.d.service.position_of(self.waiter.entry_id)
        prediction = self.d.service.estimate_for(self.waiter)
        files = self._files([P_ALL_BUSY]) if self.first_announcement else []
        self.first_announcement = False
        try:
            if self.cfg.announcements.position and position is not None:
                files += say_position(prompts, position, lang)
            if self.cfg.announcements.wait and prediction is not None:
                files += say_wait_band(prompts, prediction.seconds, lang, prediction.spread)
        except LookupError:
            log.exception("queue announcement words missing", extra={"lang": lang})
        files += self._files(([P_OFFER_CALLBACK] if KEY_CALLBACK in keys else [])
                             + ([P_OFFER_LINK] if KEY_LINK in keys else []))
        if not files:
            return None
        digit = await self.channel.play(files, interrupt_digits=keys)
        ewt = prediction.seconds if prediction else None
        self.ctx.ewt_seconds = self.announced_seconds = ewt
        heard = _heard(prediction) if prediction is not None and self.cfg.announcements.wait else None
        if heard is not None and self.first_heard is None and prediction is not None:
            self.first_heard = (prediction.seconds, heard, self._waited_this_call())
        self.d.service.bus.publish(QueueAnnounced(
            call_id=self.call_id, queue=self.cfg.name, position=position, ewt_seconds=ewt,
            band=heard.label if heard else None, method=prediction.method.value if prediction else None, keys=keys))
        if prediction is not None and position is not None:  # stored even if an agent came during the play
            await self._store_prediction(heard, prediction, position)
        return digit

    async def _store_prediction(self, heard: AnnouncedBand | None = None, prediction: Prediction | None = None,
                                position: int | None = None) -> None:
        store, service = self.d.store, self.d.service
        if prediction is None:
            prediction = service.estimate_for(self.waiter)
            position = service.position_of(self.waiter.entry_id)
        if store is None or prediction is None or position is None:
            return
        await _fail_open("prediction", store.add_prediction(
            entry_id=self.waiter.entry_id, call_id=self.call_id, queue=self.waiter.queue, at=service.clock(),
            predicted_seconds=prediction.seconds, method=prediction.method.value, ahead=position - 1,
            servers=service.staffed(self.waiter.queue), band=heard, model_seconds=prediction.model_seconds))

    # ------------------------------------------------------------------ keys
    async def _callback_key(self) -> QueueOutcome | None:
        callbacks, prompts = self.d.callbacks, self.d.prompts
        if callbacks is None or prompts is None:
            return None
        self.ctx.waited_seconds = self._waited()
        ticket = await offer_callback(self.channel, self.ctx, callbacks, prompts, self.d.recorder,
                                      queue=self.waiter.queue, source=CallbackSource.QUEUE_KEY,
                                      arrival_time=self.waiter.arrival)
        if ticket is None:
            return None
        return await self._leave(QueueOutcomeKind.CALLBACK)

    async def _link_key(self) -> None:
        deflection, prompts = self.d.deflection, self.d.prompts
        if deflection is None or prompts is None:
            return
        self.ctx.waited_seconds = self._waited()
        ticket = await offer_deflection(self.channel, self.ctx, deflection, prompts, self.d.recorder,
                                        reason="queue_wait", consent_prompt_id=P_LINK_CONSENT)
        if ticket is None:
            return
        self.link_sent = True  # from now on, hanging up means "I'll continue in writing"
        await self.channel.collect(self._files([P_KEEP_WAITING]),
                                   InputSpec(max_digits=1, first_timeout=8.0, terminator=""))

    # ------------------------------------------------------------------ agent
    async def _connect(self) -> QueueOutcome | None:
        """Ring the routed agent at once (the caller hears "connecting" or the ringback meanwhile:
        an agent is never reserved idle while a prompt plays); the answer is taken the moment the
        agent leg answers (agent busy, AgentConnected for the desk), the end when the bridge ends."""
        assignment = self.waiter.assignment
        assert assignment is not None
        service = self.d.service
        self.ctx.waited_seconds = self._waited()
        service.bus.publish(AgentOffered(agent_id=assignment.agent_id, call_id=self.call_id, queue=self.waiter.queue,
                                         context=self.ctx.snapshot("queue").to_dict()))
        answer = _Answer()
        loop = asyncio.get_running_loop()
        dial_started = loop.time()
        controls = self.d.controls
        bridge = controls.open(self.call_id, assignment.agent_id, self.waiter.queue, service.clock()) \
            if controls is not None else None
        try:
            result = await self.channel.connect(assignment.endpoint, timeout=self.cfg.ring_timeout,
                                                on_answer=lambda: self._answered(assignment, answer),
                                                announce=self._files([P_CONNECTING]), bridge=bridge)
        except CallerHungUp:
            if answer.at is None:
                raise
            # The caller left during the bridge and the backend could not say more: the contact
            # happened all the same (the agent must not stay busy, the handle time is real).
            talk = max(0.0, loop.time() - (answer.loop_at or dial_started))
            result = ConnectResult(DialStatus.ANSWER, ring_seconds=answer.ring_seconds, talk_seconds=talk)
        except Exception:
            if answer.at is not None:  # answered, then the channel failed: never leave the agent busy
                talk = max(0.0, loop.time() - (answer.loop_at or dial_started))
                service.contact_ended(assignment.agent_id, self.waiter.queue, talk_seconds=talk)
            raise
        finally:
            if controls is not None and bridge is not None:
                controls.close(bridge)
        if answer.at is None:
            if result.status is DialStatus.CANCEL:
                raise CallerHungUp("the caller left while the agent rang")
            if result.status is not DialStatus.ANSWER:
                service.no_answer(self.waiter, result.status)
                service.bus.publish(AgentMissed(agent_id=assignment.agent_id, call_id=self.call_id,
                                                queue=self.waiter.queue, result=result.status.value))
                return None
            # The backend told the answer only with the dial's end: take it as of its ring time.
            answer.answered_at_hint = min(assignment.offered_at + timedelta(seconds=result.ring_seconds),
                                          service.clock())
            self._answered(assignment, answer)
        assert answer.at is not None
        handle = service.contact_ended(assignment.agent_id, self.waiter.queue, talk_seconds=result.talk_seconds)
        if self.d.callbacks is not None:
            await _fail_open("reached_agent", self.d.callbacks.reached_agent(self.channel.info.caller,
                                                                             self.waiter.queue))
        outcome = await self._record_exit(QueueOutcomeKind.CONNECTED, answer.waited, 1, left_at=answer.at,
                                          agent_id=assignment.agent_id, handle=handle, talk=result.talk_seconds)
        transfer = bridge is not None and bridge.transfer is not None and not self.channel.hung_up
        if transfer and bridge is not None and await self._transfer(bridge):
            return None
        return outcome

    async def _transfer(self, bridge: LiveBridge) -> bool:
        """The desk transferred the caller: into the target queue as the same call (its context,
        and its first arrival for its place in line). False when that queue is gone meanwhile."""
        assert bridge.transfer is not None
        service, target = self.d.service, bridge.transfer
        try:
            cfg = service.queue_config(target.queue)
        except UnknownQueue:
            log.error("transfer to an unknown queue", extra={"queue": target.queue})
            return False
        previous = self.waiter.queue
        self.cfg = cfg
        self.waiter = service.join(cfg.name, arrival=self.waiter.arrival, priority=self.request.priority,
                                   kind=EntryKind.CALL, call_id=self.call_id, for_agent=target.agent_id)
        self.ctx.queue = cfg.name
        self.first_heard, self.announced_seconds = None, None
        prediction = service.estimate_for(self.waiter)
        self.ewt_at_join = prediction.seconds if prediction else None
        self.transferred = True
        service.bus.publish(QueueJoined(
            call_id=self.call_id, queue=cfg.name, position=self.waiter.position_at_join,
            ewt_seconds=self.ewt_at_join, priority=self.request.priority,
            transfer=QueueTransfer(from_queue=previous, from_agent=bridge.agent_id, by=target.by,
                                   to_agent=target.agent_id)))
        await self._store_prediction()
        return True

    def _answered(self, assignment: AgentAssignment, answer: _Answer) -> None:
        """The agent leg answered (called from the event loop, by the channel): the caller is
        served, the agent busy, the desk and wallboard told at once."""
        if answer.at is not None:
            return
        service = self.d.service
        answer.at = answer.answered_at_hint or service.clock()
        answer.loop_at = asyncio.get_running_loop().time()
        answer.ring_seconds = max(0.0, (answer.at - assignment.offered_at).total_seconds())
        answer.waited = service.answered(self.waiter, answered_at=answer.at)
        self.ctx.waited_seconds = answer.waited + self.request.credit_seconds
        service.bus.publish(AgentConnected(agent_id=assignment.agent_id, call_id=self.call_id,
                                           queue=self.waiter.queue, context=self.ctx.snapshot("queue").to_dict(),
                                           waited_seconds=answer.waited, ring_seconds=answer.ring_seconds))

    # ------------------------------------------------------------------ exits
    async def _no_agents(self) -> QueueOutcome | None:
        """The queue lost its last staffed agent (or closed) while the caller waits: say so now
        and offer the queue's overflow (callback keeping the place, another queue, the flow)."""
        self.unstaffed_from.add(self.cfg.name)
        self.d.service.bus.publish(QueueUnstaffed(call_id=self.call_id, queue=self.waiter.queue, joined=True))
        notice = self._files([P_NO_AGENTS])
        if notice:
            await self.channel.play(notice)
        overflow = self.cfg.overflow
        if overflow.kind is OverflowKind.QUEUE and overflow.target in self.unstaffed_from:
            return await self._leave(QueueOutcomeKind.UNAVAILABLE)  # every queue on the way is empty
        return await self._overflow()

    async def _overflow(self) -> QueueOutcome | None:
        overflow = self.cfg.overflow
        source = self.waiter.queue
        if overflow.kind is OverflowKind.QUEUE and overflow.target is not None:
            try:
                target = self.d.service.queue_config(overflow.target)
            except UnknownQueue:
                log.error("overflow to an unknown queue", extra={"queue": overflow.target})
            else:
                self.d.service.move(self.waiter, target.name)
                self.cfg = target
                self.ctx.queue = target.name
                self.d.service.bus.publish(QueueOverflowed(call_id=self.call_id, queue=source, overflow=str(overflow),
                                                           target=target.name))
                return None
        self.d.service.bus.publish(QueueOverflowed(call_id=self.call_id, queue=source, overflow=str(overflow)))
        if overflow.kind is OverflowKind.CALLBACK and self.d.callbacks is not None and self.d.prompts is not None:
            outcome = await self._callback_key()
            if outcome is not None:
                return outcome
        return await self._leave(QueueOutcomeKind.OVERFLOW)

    async def _leave(self, kind: QueueOutcomeKind) -> QueueOutcome:
        position = self.d.service.leave(self.waiter)
        return await self._record_exit(kind, self._waited_this_call(), position)

    async def _caller_left(self) -> QueueOutcome:
        service = self.d.service
        if not service.in_line(self.waiter.entry_id):  # already out of line (served...)
            return QueueOutcome(QueueOutcomeKind.ABANDONED, self._waited())
        total = self._waited()
        waited, position = service.abandoned(self.waiter)
        kind = QueueOutcomeKind.DEFLECTED if self.link_sent else QueueOutcomeKind.ABANDONED
        outcome = await self._record_exit(kind, waited, position)
        if kind is QueueOutcomeKind.ABANDONED and self.d.callbacks is not None:
            await self._abandon_callback(total, position)
        return outcome

    async def _abandon_callback(self, waited: float, position: int | None) -> None:
        assert self.d.callbacks is not None
        request = CallbackRequest(
            number=self.channel.info.caller, queue=self.waiter.queue, source=CallbackSource.ABANDON,
            context=self.ctx.snapshot("abandon"), arrival_time=self.waiter.arrival, waited_seconds=waited,
            position=position, language=self.ctx.language)
        try:
            await self.d.callbacks.request(request)
        except CallbackRefused as exc:
            log.info("no callback after abandon", extra={"queue": self.waiter.queue, "reason": str(exc)})
        except Exception:
            log.exception("callback policy failed after an abandon", extra={"queue": self.waiter.queue})

    async def _record_exit(self, kind: QueueOutcomeKind, waited: float, position: int | None, *,
                           left_at: datetime | None = None, agent_id: str | None = None,
                           handle: float | None = None, talk: float | None = None) -> QueueOutcome:
        """``waited`` is this call's time in line (SL, ASA, abandons and the EWT error are about it);
        the outcome and the call's record carry the total with a returning caller's credit."""
        service, store = self.d.service, self.d.store
        left_at = left_at or service.clock()
        total = waited + max(self.request.credit_seconds, 0.0)
        self.ctx.waited_seconds = total
        within = waited <= self.cfg.service_level.seconds if kind is QueueOutcomeKind.CONNECTED else None
        heard = self.first_heard
        service.bus.publish(QueueLeft(call_id=self.call_id, queue=self.waiter.queue, outcome=kind.value,
                                      waited_seconds=waited, position=position, ewt_predicted=self.ewt_at_join,
                                      within_service_level=within,
                                      ewt_announced=heard[0] if heard else None,
                                      ewt_band_low=heard[1].low_seconds if heard else None,
                                      ewt_band_high=heard[1].high_seconds if heard else None,
                                      waited_after_announcement=max(waited - heard[2], 0.0) if heard else None,
                                      credit_seconds=total - waited, agent_id=agent_id, talk_seconds=talk))
        if store is not None:
            await _fail_open("predictions", store.resolve_predictions(self.waiter.entry_id, left_at=left_at,
                                                                      outcome=kind.value))
            await _fail_open("contact", store.record_contact(ContactRecord(
                entry_id=self.waiter.entry_id, call_id=self.call_id, queue=self.waiter.queue,
                kind=EntryKind.CALL.value, arrival=self.waiter.arrival, joined_at=self.waiter.joined_at,
                left_at=left_at, outcome=kind.value, waited_seconds=waited,
                position_at_join=self.waiter.position_at_join, position_at_exit=position, agent_id=agent_id,
                handle_seconds=handle, priority=self.waiter.priority)))
        return QueueOutcome(kind, waited_seconds=total, agent_id=agent_id, position_at_exit=position)

