"""The dispatcher: claims due callbacks, checks the policy again, waits in the callback's queue at
its caller's original arrival time, dials per the queue's mode, and records every attempt.

Each claimed callback is worked in its own task (bounded by ``max_active``) while a heartbeat
renews the leases (also while a call is up). The attempt is committed (``dialing``, with its
sequence number, which travels on the Originate as ``CALLBACK_TRY``) before the call leaves, and the
first leg's answer is committed as soon as it comes. A dispatcher that dies leaves leases that run
out; another one takes the callback over and settles its open attempt by :mod:`callbacks.takeover`
(recorded answer, else ask the origination side; redial only when the call provably never left).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from callbacks.events import publish_state
from callbacks.ivr_handler import ScriptDeps, run_call
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.origination.base import Leg, OriginateRequest, Originator, dial_status_of
from callbacks.policy import CallbackMode, QueuePolicy, after_attempt, is_expired
from callbacks.service import CallbackService
from callbacks.sessions import CallbackCall, CallOutcome, SessionRegistry
from callbacks.store import CallbackStore
from callbacks.takeover import Action, Decision, Probe, ProbeState, from_closed, from_probe, from_record
from callbacks.values import Attempt, AttemptEnd, Callback
from ivr.acd.types import AgentAssignment, CallbackEntry
from ivr.channel import ConnectResult, DialStatus
from ivr.logs import mask_number
from ivr.settings import CallbackSettings

log = logging.getLogger(__name__)

RETRY_SOON = timedelta(seconds=30)  # after an agent-side failure or an error: keep the place, try again
NO_ACD_DELAY = timedelta(seconds=60)
MAX_CALL_SECONDS = 5 * 3600.0  # the longest an answered callback call may take (AGI side)


class Acd(Protocol):
    async def wait_for_agent(self, entry: CallbackEntry, timeout: float) -> AgentAssignment | None: ...

    async def finish_assignment(self, assignment: AgentAssignment, result: ConnectResult) -> None: ...


class CallbackDispatcher:
    name = "callbacks-dispatcher"

    def __init__(self, service: CallbackService, *, originator: Originator | None,
                 acd: Acd | None, sessions: SessionRegistry, script: ScriptDeps,
                 settings: CallbackSettings, owner: str | None = None) -> None:
        self.service = service
        self.store: CallbackStore = service.store
        self._originator = originator
        self._acd = acd
        self.sessions = sessions
        self.script = script
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._active: set[str] = set()
        self._lost: set[str] = set()  # leases the heartbeat found gone (cancelled, rescheduled, taken over)
        self._slot_freed = asyncio.Event()
        self.dialled = 0

    def working(self, callback_id: str) -> bool:
        """Whether this dispatcher holds the callback right now (waiting in line or dialling)."""
        return callback_id in self._active

    def _now(self) -> datetime:
        return self.service.clock()

    # ------------------------------------------------------------------ Component
    async def run(self, started: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._heartbeat(), name="callbacks-heartbeat")
            started.set()
            log.info("callback dispatcher running", extra={"owner": self.owner})
            while True:
                claimed = await self._claim()
                for callback in claimed:
                    if callback.id in self._active:
                        # Our own lease ran out while we work it (the heartbeat was late) and the
                        # claim took it back: the lease is renewed; the task already on it goes on.
                        continue
                    self._active.add(callback.id)
                    tg.create_task(self._work(callback), name=f"callback-{callback.id}")
                if len(claimed) < self.settings.batch_size or len(self._active) >= self.settings.max_active:
                    self._slot_freed.clear()
                    try:
                        async with asyncio.timeout(self.settings.poll_interval):
                            await self._slot_freed.wait()
                    except TimeoutError:
                        pass

    async def _claim(self) -> list[Callback]:
        room = self.settings.max_active - len(self._active)
        if room <= 0:
            return []
        try:
            return await self.store.claim(self.owner, now=self._now(), lease_seconds=self.settings.lease_seconds,
                                          limit=min(room, self.settings.batch_size))
        except Exception:  # the database is down: try again at the next poll, loudly
            log.exception("cannot claim callbacks")
            return []

    async def _heartbeat(self) -> None:
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            ids = list(self._active)
            if not ids:
                continue
            until = self._now() + timedelta(seconds=self.settings.lease_seconds)
            try:
                kept = await self.store.renew(ids, self.owner, until=until)
            except Exception:
                log.exception("cannot renew callback leases")
                continue
            lost = (set(ids) - kept) & self._active
            if lost:
                self._lost |= lost
                log.warning("callback leases lost (cancelled or taken over)", extra={"count": len(lost)})

    # ------------------------------------------------------------------ one callback
    async def _work(self, callback: Callback) -> None:
        try:
            await self._process(callback)
        except Exception:
            log.exception("callback failed in the dispatcher; it will be retried", extra={"callback_id": callback.id})
            try:
                await self.store.release(callback.id, self.owner, due_at=self._now() + RETRY_SOON, now=self._now(),
                                         reason="dispatcher error")
            except Exception:
                log.exception("cannot release the callback (its lease will run out)",
                              extra={"callback_id": callback.id})
        finally:
            self._active.discard(callback.id)
            self._lost.discard(callback.id)
            self._slot_freed.set()

    async def _process(self, cb: Callback) -> None:
        if cb.state is CallbackState.DIALING:
            await self._take_over(cb)
            return
        policy = self.service.policies.policy(cb.queue)
        if not await self._still_allowed(cb, policy):
            return
        acd = self._acd
        assignment: AgentAssignment | None = None
        if acd is not None:
            entry = CallbackEntry(cb.id, cb.queue, cb.arrival_time, policy.priority)
            while assignment is None:
                assignment = await acd.wait_for_agent(entry, timeout=self.settings.wait_slice_seconds)
                if assignment is None and not await self._still_allowed(cb, policy):
                    return
        elif policy.mode is CallbackMode.AGENT_FIRST:
            await self.store.release(cb.id, self.owner, due_at=self._now() + NO_ACD_DELAY, now=self._now(),
                                     reason="no ACD to find an agent")
            return
        await self._dial(cb, policy, acd, assignment)

    async def _still_allowed(self, cb: Callback, policy: QueuePolicy) -> bool:
        """The policy at dial time: expiry, opt-out, quiet hours and the calling window."""
        if cb.id in self._lost:  # cancelled or rescheduled while it waited: nothing more to do here
            return False
        now = self._now()
        if is_expired(policy, created_at=cb.created_at, now=now):
            await self._close(cb, CallbackState.EXPIRED, f"not reached within {policy.expire_after_hours:g}h")
            return False
        if await self.service.opted_out(cb.number):
            await self._close(cb, CallbackState.CANCELLED, "opted out", refused="the number has opted out")
            return False
        allowed = await self.service.next_allowed(cb.number, now, policy, cb.timezone)
        if allowed > now + timedelta(seconds=1):
            if await self.store.release(cb.id, self.owner, due_at=allowed, now=now, reason="outside calling hours"):
                publish_state(self.service.bus, cb.id, cb.queue, cb.state.value, "deferred")
            return False
        return True

    async def _close(self, cb: Callback, state: CallbackState, reason: str, *, refused: str | None = None) -> None:
        if await self.store.close(cb.id, self.owner, state=state, reason=reason, now=self._now(),
                                  refused_attempt=refused):
            publish_state(self.service.bus, cb.id, cb.queue, state.value,
                          AttemptOutcome.REFUSED.value if refused else None)

    async def _dial(self, cb: Callback, policy: QueuePolicy, acd: Acd | None,
                    assignment: AgentAssignment | None) -> None:
        originator = self._originator
        agent_first = policy.mode is CallbackMode.AGENT_FIRST
        target = assignment.endpoint if agent_first and assignment is not None else cb.number
        seq = None
        if originator is not None:
            seq = await self.store.start_attempt(cb.id, self.owner, mode=policy.mode.value, target=target,
                                                 agent_id=assignment.agent_id if assignment else None,
                                                 now=self._now())
        if originator is None or seq is None:
            if assignment is not None and acd is not None:
                await acd.finish_assignment(assignment, ConnectResult(DialStatus.CANCEL))
            if originator is None:
                await self.store.release(cb.id, self.owner, due_at=self._now() + NO_ACD_DELAY, now=self._now(),
                                         reason="no originator")
            return
        publish_state(self.service.bus, cb.id, cb.queue, CallbackState.DIALING.value)
        self.dialled += 1
        log.info("dialling callback", extra={"callback_id": cb.id, "attempt": seq, "mode": policy.mode.value,
                                             "number": mask_number(cb.number)})
        call = CallbackCall(callback=cb, attempt=seq, mode=policy.mode, policy=policy,
                            customer_target=originator.customer_target(cb.number),
                            caller_id=self.service.caller_id(policy), assignment=assignment)
        self.sessions.open(call)
        try:
            result = await self._run_attempt(originator, call, target)
        except asyncio.CancelledError:
            if assignment is not None and acd is not None:  # shutting down: give the agent back
                await acd.finish_assignment(assignment, ConnectResult(DialStatus.CANCEL))
            raise
        except Exception as exc:  # counted: an attempt that keeps failing must run out, not loop
            log.exception("callback attempt failed", extra={"callback_id": cb.id})
            result = CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.CANCEL), detail=repr(exc))
        finally:
            self.sessions.close(cb.id)
        if assignment is not None and acd is not None and result.agent_leg is not None:
            await acd.finish_assignment(assignment, result.agent_leg)
        await self._record(cb, policy, seq, result)

    async def _run_attempt(self, originator: Originator, call: CallbackCall, target: str) -> CallOutcome:
        agent_first = call.mode is CallbackMode.AGENT_FIRST
        ring = call.policy.agent_ring_seconds if agent_first else call.policy.customer_ring_seconds
        request = OriginateRequest(callback_id=call.callback.id, attempt=call.attempt,
                                   leg=Leg.AGENT if agent_first else Leg.CUSTOMER, target=target,
                                   caller_id=call.caller_id, timeout=ring)
        started = await originator.originate(request)
        await self._record_leg(call, started.outcome, started.uniqueid)
        if started.outcome is not AttemptOutcome.ANSWERED:
            if agent_first:  # the agent did not take it: not the customer's attempt
                return CallOutcome(AttemptOutcome.FAILED, ConnectResult(dial_status_of(started.outcome)),
                                   detail=f"agent leg {started.outcome.value}: {started.detail}", counted=False)
            return CallOutcome(started.outcome, ConnectResult(DialStatus.CANCEL), detail=started.detail)
        if started.channel is not None:
            try:
                return await run_call(started.channel, call, self.script)
            finally:
                await started.channel.hangup()
        # The script runs through FastAGI: it must start soon after the answer (else the AGI went
        # to another instance, or nowhere), then it reports when the call is over.
        try:
            async with asyncio.timeout(self.settings.script_pickup_seconds):
                await call.picked_up.wait()
        except TimeoutError:
            log.error("answered, but the callback AGI script never started here: is [callback-agi] routed to "
                      "this instance?", extra={"callback_id": call.callback.id})
            return CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.CANCEL),
                               detail="answered, but the callback AGI script never started")
        try:
            async with asyncio.timeout(MAX_CALL_SECONDS):
                return await call.done
        except TimeoutError:
            return CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.CANCEL),
                               detail="the call script never reported")

    async def _record_leg(self, call: CallbackCall, outcome: AttemptOutcome, channel: str | None) -> None:
        try:
            await self.store.record_leg(call.callback.id, call.attempt, outcome, channel=channel, now=self._now())
        except Exception:  # the call goes on; a takeover would then have to ask the origination side
            log.exception("cannot record the first leg's answer", extra={"callback_id": call.callback.id})

    # ------------------------------------------------------------------ taking over from a dead dispatcher
    async def _take_over(self, cb: Callback) -> None:
        policy = self.service.policies.policy(cb.queue)
        attempt = await self.store.last_attempt(cb.id)
        if attempt is None:  # dialing without an attempt: start_attempt writes both in one transaction
            log.error("callback dialing without an attempt: held for review", extra={"callback_id": cb.id})
            await self._settle(cb, policy, 0, Decision(Action.REVIEW, detail="dialing without an attempt"))
            return
        decision = (from_closed(attempt.outcome, attempt.counted) if attempt.ended_at is not None
                    else from_record(attempt.leg_outcome, policy.mode))
        if decision is None:
            decision = from_probe(await self._probe(cb, attempt), policy.mode, started_at=attempt.started_at,
                                  now=self._now(), give_up_after=timedelta(seconds=MAX_CALL_SECONDS),
                                  never_after=timedelta(seconds=self.settings.lease_seconds))
        log.warning("took over a callback attempt from a dead dispatcher",
                    extra={"callback_id": cb.id, "attempt": attempt.seq, "from": attempt.dispatcher,
                           "action": decision.action.value, "detail": decision.detail})
        await self._settle(cb, policy, attempt.seq, decision)

    async def _probe(self, cb: Callback, attempt: Attempt) -> Probe:
        originator = self._originator
        if originator is None:
            return Probe(ProbeState.UNREACHABLE, detail="no originator")
        try:
            return await originator.probe(cb.id, attempt.seq)
        except Exception as exc:  # asked again at the next recheck
            log.exception("cannot probe the origination side", extra={"callback_id": cb.id})
            return Probe(ProbeState.UNREACHABLE, detail=repr(exc)[:100])

    async def _settle(self, cb: Callback, policy: QueuePolicy, seq: int, decision: Decision) -> None:
        now = self._now()
        if decision.action is Action.WAIT:
            await self.store.recheck_later(cb.id, self.owner, now=now,
                                           at=now + timedelta(seconds=self.settings.lease_seconds))
            return
        if decision.action is Action.REVIEW:
            if await self.store.hold_for_review(cb.id, self.owner, seq, detail=decision.detail, now=now):
                publish_state(self.service.bus, cb.id, cb.queue, CallbackState.NEEDS_REVIEW.value,
                              AttemptOutcome.UNKNOWN.value)
            return
        outcome = decision.outcome or AttemptOutcome.FAILED
        if decision.action is Action.REDIAL:
            end = AttemptEnd(outcome, False, CallbackState.SCHEDULED, now, decision.detail, "redial after takeover")
        else:
            end = await self._next_step(cb, policy, CallOutcome(outcome, detail=decision.detail,
                                                                counted=decision.counted), now)
        if await self.store.finish_attempt(cb.id, self.owner, seq, end, now=now):
            publish_state(self.service.bus, cb.id, cb.queue, end.state.value, outcome.value)

    async def _record(self, cb: Callback, policy: QueuePolicy, seq: int, result: CallOutcome) -> None:
        now = self._now()
        end = await self._next_step(cb, policy, result, now)
        kept = await self.store.finish_attempt(cb.id, self.owner, seq, end, now=now)
        if not kept:
            log.warning("attempt recorded after the lease was lost", extra={"callback_id": cb.id})
            return
        publish_state(self.service.bus, cb.id, cb.queue, end.state.value, result.outcome.value)

    async def _next_step(self, cb: Callback, policy: QueuePolicy, result: CallOutcome, now: datetime) -> AttemptEnd:
        end = after_attempt(policy, attempts_before=cb.attempts, outcome=result.outcome, counted=result.counted,
                            now=now, retry_soon=RETRY_SOON, detail=result.detail)
        if end.state is CallbackState.SCHEDULED and end.due_at is not None:
            due = await self.service.next_allowed(cb.number, end.due_at, policy, cb.timezone)
            end = AttemptEnd(end.outcome, end.counted, end.state, due, end.detail, end.reason)
        return end
