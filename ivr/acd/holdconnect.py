"""The agent's leg of a call on hold: ringing the agent the line offered, the answer (the caller
served, the agent busy, the desk told at once), a missed offer back into line, and a transfer by
the desk into another queue as the same call."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from ivr.acd.holdannounce import store_prediction
from ivr.acd.holdcall import HoldCall, fail_open
from ivr.acd.holdexit import record_exit
from ivr.acd.types import AgentAssignment, EntryKind, UnknownQueue
from ivr.callcontrol import LiveBridge
from ivr.channel import CallerHungUp, ConnectResult, DialStatus
from ivr.events.types import AgentConnected, AgentMissed, AgentOffered, QueueJoined, QueueTransfer
from ivr.ports import QueueOutcome, QueueOutcomeKind

log = logging.getLogger(__name__)

P_CONNECTING = "queue/connecting"


@dataclass
class _Answer:
    """When the offered agent answered (None until then)."""

    at: datetime | None = None
    loop_at: float | None = None
    answered_at_hint: datetime | None = None
    ring_seconds: float = 0.0
    waited: float = 0.0


async def connect_agent(call: HoldCall) -> QueueOutcome | None:
    """Ring the routed agent at once (the caller hears "connecting" or the ringback meanwhile:
    an agent is never reserved idle while a prompt plays); the answer is taken the moment the
    agent leg answers (agent busy, AgentConnected for the desk), the end when the bridge ends."""
    assignment = call.waiter.assignment
    assert assignment is not None
    service = call.d.service
    call.ctx.waited_seconds = call.waited()
    service.bus.publish(AgentOffered(agent_id=assignment.agent_id, call_id=call.call_id, queue=call.waiter.queue,
                                     context=call.ctx.snapshot("queue").to_dict()))
    answer = _Answer()
    loop = asyncio.get_running_loop()
    dial_started = loop.time()
    controls = call.d.controls
    bridge = controls.open(call.call_id, assignment.agent_id, call.waiter.queue, service.clock()) \
        if controls is not None else None
    try:
        result = await call.channel.connect(assignment.endpoint, timeout=call.cfg.ring_timeout,
                                            on_answer=partial(agent_answered, call, assignment, answer),
                                            announce=call.files([P_CONNECTING]), bridge=bridge)
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
            service.contact_ended(assignment.agent_id, call.waiter.queue, talk_seconds=talk)
        raise
    finally:
        if controls is not None and bridge is not None:
            controls.close(bridge)
    if answer.at is None:
        if result.status is DialStatus.CANCEL:
            raise CallerHungUp("the caller left while the agent rang")
        if result.status is not DialStatus.ANSWER:
            service.no_answer(call.waiter, result.status)
            service.bus.publish(AgentMissed(agent_id=assignment.agent_id, call_id=call.call_id,
                                            queue=call.waiter.queue, result=result.status.value))
            return None
        # The backend told the answer only with the dial's end: take it as of its ring time.
        answer.answered_at_hint = min(assignment.offered_at + timedelta(seconds=result.ring_seconds),
                                      service.clock())
        agent_answered(call, assignment, answer)
    assert answer.at is not None
    handle = service.contact_ended(assignment.agent_id, call.waiter.queue, talk_seconds=result.talk_seconds)
    if call.d.callbacks is not None:
        await fail_open("reached_agent", call.d.callbacks.reached_agent(call.channel.info.caller, call.waiter.queue))
    outcome = await record_exit(call, QueueOutcomeKind.CONNECTED, answer.waited, 1, left_at=answer.at,
                                agent_id=assignment.agent_id, handle=handle, talk=result.talk_seconds)
    transfer = bridge is not None and bridge.transfer is not None and not call.channel.hung_up
    if transfer and bridge is not None and await join_transfer_queue(call, bridge):
        return None
    return outcome


async def join_transfer_queue(call: HoldCall, bridge: LiveBridge) -> bool:
    """The desk transferred the caller: into the target queue as the same call (its context,
    and its first arrival for its place in line). False when that queue is gone meanwhile."""
    assert bridge.transfer is not None
    service, target = call.d.service, bridge.transfer
    try:
        cfg = service.queue_config(target.queue)
    except UnknownQueue:
        log.error("transfer to an unknown queue", extra={"queue": target.queue})
        return False
    previous = call.waiter.queue
    call.cfg = cfg
    call.waiter = service.join(cfg.name, arrival=call.waiter.arrival, priority=call.request.priority,
                               kind=EntryKind.CALL, call_id=call.call_id, for_agent=target.agent_id)
    call.ctx.queue = cfg.name
    call.first_heard, call.announced_seconds = None, None
    prediction = service.estimate_for(call.waiter)
    call.ewt_at_join = prediction.seconds if prediction else None
    call.transferred = True
    service.bus.publish(QueueJoined(
        call_id=call.call_id, queue=cfg.name, position=call.waiter.position_at_join,
        ewt_seconds=call.ewt_at_join, priority=call.request.priority,
        transfer=QueueTransfer(from_queue=previous, from_agent=bridge.agent_id, by=target.by,
                               to_agent=target.agent_id)))
    await store_prediction(call)
    return True


def agent_answered(call: HoldCall, assignment: AgentAssignment, answer: _Answer) -> None:
    """The agent leg answered (called from the event loop, by the channel): the caller is
    served, the agent busy, the desk and wallboard told at once."""
    if answer.at is not None:
        return
    service = call.d.service
    answer.at = answer.answered_at_hint or service.clock()
    answer.loop_at = asyncio.get_running_loop().time()
    answer.ring_seconds = max(0.0, (answer.at - assignment.offered_at).total_seconds())
    answer.waited = service.answered(call.waiter, answered_at=answer.at)
    call.ctx.waited_seconds = answer.waited + call.request.credit_seconds
    service.bus.publish(AgentConnected(agent_id=assignment.agent_id, call_id=call.call_id,
                                       queue=call.waiter.queue, context=call.ctx.snapshot("queue").to_dict(),
                                       waited_seconds=answer.waited, ring_seconds=answer.ring_seconds))
