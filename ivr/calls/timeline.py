"""The caller's timeline rows for the call path's typed events: what the call recorder writes when
the hold loop (:func:`timeline_rows`) or the flow engine (:func:`fact_row`) publishes. Each fact is
published once; nobody records the same fact a second way.

Row shapes are the timeline's, as ``ivr calls show`` and the reconciler of dead nodes read them:
``queue_joined`` names the queue; ``queue_left`` the outcome and the total wait (a returning
caller's credit included) beside this call's own. The flow's rows keep the keys they always had:
an optional field the event leaves None is left out of its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.events.flow import (
    CallbackRequested,
    CallError,
    CallResumed,
    DeflectionOffered,
    DeflectionSent,
    HungUp,
    LanguageSet,
    OrderLookedUp,
    PromptPlayed,
    ReturningCaller,
    ScheduleChecked,
    TransferDialled,
    TransferEnded,
    VariableSet,
)
from ivr.events.types import (
    AgentConnected,
    AgentMissed,
    AgentOffered,
    Event,
    InputReceived,
    NodeEntered,
    NoInput,
    NoMatch,
    QueueAnnounced,
    QueueJoined,
    QueueLeft,
    QueueOverflowed,
    QueueUnstaffed,
)
from ivr.ports import CallEventKind


@dataclass(frozen=True, slots=True)
class TimelineRow:
    call_id: str
    kind: CallEventKind
    queue: str  # the queue the row is about (the call's record keeps the last one)
    data: dict[str, Any]

    @property
    def node(self) -> str:
        return f"queue:{self.queue}"


def _r(seconds: float | None) -> float | None:
    return round(seconds, 3) if seconds is not None else None


def timeline_rows(event: Event) -> list[TimelineRow]:
    """The rows an ACD event adds to its caller's timeline (none for any other event)."""
    match event:
        case QueueJoined():
            joined: dict[str, Any] = {
                "queue": event.queue, "position": event.position, "ewt_seconds": event.ewt_seconds,
                "credit_seconds": event.credit_seconds, "priority": event.priority}
            if event.transfer is not None:
                joined |= {"transferred_from": event.transfer.from_queue, "transferred_by": event.transfer.by,
                           "agent_id": event.transfer.from_agent, "to_agent": event.transfer.to_agent}
            return [TimelineRow(event.call_id, CallEventKind.QUEUE_JOINED, event.queue, joined)]
        case QueueAnnounced():
            return [TimelineRow(event.call_id, CallEventKind.EWT_ANNOUNCED, event.queue, {
                "queue": event.queue, "position": event.position, "ewt_seconds": event.ewt_seconds,
                "band": event.band, "method": event.method, "keys": event.keys})]
        case AgentOffered():
            return [TimelineRow(event.call_id, CallEventKind.AGENT_OFFERED, event.queue,
                                {"queue": event.queue, "agent_id": event.agent_id})]
        case AgentMissed():
            return [TimelineRow(event.call_id, CallEventKind.AGENT_OFFERED, event.queue,
                                {"queue": event.queue, "agent_id": event.agent_id, "result": event.result})]
        case AgentConnected():
            return [TimelineRow(event.call_id, CallEventKind.AGENT_CONNECTED, event.queue, {
                "queue": event.queue, "agent_id": event.agent_id, "waited_seconds": _r(event.waited_seconds),
                "ring_seconds": _r(event.ring_seconds)})]
        case QueueUnstaffed():
            data: dict[str, Any] = ({"queue": event.queue, "reason": "no_agents"} if event.joined
                                    else {"queue": event.queue, "outcome": "unavailable"})
            return [TimelineRow(event.call_id, CallEventKind.QUEUE_LEFT, event.queue, data)]
        case QueueOverflowed():
            rows = [TimelineRow(event.call_id, CallEventKind.QUEUE_LEFT, event.queue,
                                {"queue": event.queue, "overflow": event.overflow})]
            if event.target is not None:
                rows.append(TimelineRow(event.call_id, CallEventKind.QUEUE_JOINED, event.target,
                                        {"queue": event.target, "overflow_from": event.queue}))
            return rows
        case QueueLeft():
            data = {"queue": event.queue, "outcome": event.outcome,
                    "waited_seconds": round(event.waited_seconds + event.credit_seconds, 3),
                    "waited_this_call_seconds": round(event.waited_seconds, 3),
                    "position": event.position, "agent_id": event.agent_id}
            if event.talk_seconds is not None:
                data["talk_seconds"] = round(event.talk_seconds, 3)
            return [TimelineRow(event.call_id, CallEventKind.QUEUE_LEFT, event.queue, data)]
        case _:
            return []


@dataclass(frozen=True, slots=True)
class FactRow:
    """A flow fact's row in its caller's timeline."""

    call_id: str
    kind: CallEventKind
    node: str | None
    data: dict[str, Any]


def _present(**values: object) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def fact_row(event: Event) -> FactRow | None:
    """The row a flow fact adds to its caller's timeline (None for any other event)."""
    match event:
        case NodeEntered():
            return FactRow(event.call_id, CallEventKind.NODE_ENTERED, event.node, {"kind": event.node_kind} | _present(
                queue=event.queue, arrival=event.arrival.isoformat() if event.arrival else None,
                priority=event.priority, place=event.place))
        case NoInput():
            return FactRow(event.call_id, CallEventKind.NO_INPUT, event.node, {})
        case NoMatch():
            return FactRow(event.call_id, CallEventKind.NO_MATCH, event.node,
                           _present(digits=event.digits, transcript=event.transcript))
        case InputReceived():
            return FactRow(event.call_id, CallEventKind.INPUT, event.node, {
                "mode": event.mode, "digits": event.digits, "transcript": event.transcript, "key": event.key,
                "confidence": event.confidence, "engine": event.engine})
        case PromptPlayed():
            return FactRow(event.call_id, CallEventKind.PROMPT_PLAYED, event.node, {"prompt": event.prompt})
        case LanguageSet():
            return FactRow(event.call_id, CallEventKind.LANGUAGE_SET, event.node, {"language": event.language})
        case VariableSet():
            return FactRow(event.call_id, CallEventKind.VARIABLE_SET, event.node, _present(
                variables=list(event.variables) if event.variables is not None else None, need=event.need,
                variable=event.variable))
        case ScheduleChecked():
            data: dict[str, Any] = {"schedule": event.schedule} | _present(error=event.error)
            if event.reading is not None:
                data |= {"reason": event.reading.reason, "source": event.reading.source,
                         "next_change": event.reading.next_change}
            return FactRow(event.call_id, CallEventKind.SCHEDULE, event.node, data | {"state": event.state})
        case OrderLookedUp():
            data = _present(order=event.order)
            data |= {"error": event.error} if event.error is not None else {"status": event.status}
            return FactRow(event.call_id, CallEventKind.LOOKUP, event.node, data)
        case TransferDialled():
            return FactRow(event.call_id, CallEventKind.TRANSFER, event.node,
                           {"to": event.to} | _present(endpoint=event.endpoint, queue=event.queue))
        case TransferEnded():
            return FactRow(event.call_id, CallEventKind.TRANSFER, event.node,
                           {"status": event.status, "talk_seconds": event.talk_seconds})
        case CallbackRequested():
            return FactRow(event.call_id, CallEventKind.CALLBACK_REQUESTED, event.node, _callback(event))
        case DeflectionOffered():
            data = {"reason": event.reason, "offered": event.offered}
            data |= ({"answer": event.answer, "prompt_id": event.prompt_id, "prompt_version": event.prompt_version,
                      "consent_mode": event.consent_mode} if event.offered else {"why": event.why})
            return FactRow(event.call_id, CallEventKind.DEFLECTION_OFFERED, event.node, data)
        case DeflectionSent():
            return FactRow(event.call_id, CallEventKind.DEFLECTION_SENT, event.node, {
                "link_id": event.link_id, "reference": event.reference, "channel": event.channel})
        case ReturningCaller():
            return FactRow(event.call_id, CallEventKind.RETURNING_CALLER, event.node, {
                "previous_call_id": event.previous_call_id, "queue": event.queue,
                "waited_seconds": event.waited_seconds})
        case CallError():
            return FactRow(event.call_id, CallEventKind.ERROR, event.node, {"error": event.error} | _present(
                detail=event.detail, fallback=event.fallback, steps=event.steps, seconds=event.seconds))
        case HungUp():
            return FactRow(event.call_id, CallEventKind.HANGUP, event.node, {"by": event.by})
        case CallResumed():
            return FactRow(event.call_id, CallEventKind.RESUMED, event.node, {
                "leg": event.leg, "owner": event.owner, "node": event.resumed_on,
                "previous_owner": event.previous_owner, "previous_disposition": event.previous_disposition})
        case _:
            return None


def _callback(event: CallbackRequested) -> dict[str, Any]:
    if event.accepted is None:  # after a drop: the source first, as the engine always wrote it
        return {"source": event.source} | _present(refused=event.refused, queue=event.queue,
                                                   callback_id=event.callback_id, scheduled_for=event.scheduled_for)
    data = {"queue": event.queue, "source": event.source, "accepted": event.accepted}
    if event.accepted:
        data |= {"callback_id": event.callback_id, "scheduled_for": event.scheduled_for, "merged": event.merged}
    return data
