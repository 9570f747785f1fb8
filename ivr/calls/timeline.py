"""The caller's timeline rows for the call path's typed events: what the call recorder writes when
the hold loop (:func:`timeline_rows`) or the flow engine (:func:`fact_row`) publishes. Each fact is
published once; nobody records the same fact a second way.

Row shapes are the timeline's, as ``ivr calls show`` and the reconciler of dead nodes read them:
``queue_joined`` names the queue; ``queue_left`` the outcome and the total wait (a returning
caller's credit included) beside this call's own. The flow's rows keep the keys they always had:
an optional field the event leaves None is left out of its row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

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


_E = TypeVar("_E", bound=Event)
# an event's exact type -> its row (each function takes its own type: registering pairs them)
_FACT_ROWS: dict[type[Event], Callable[[Event], FactRow]] = {}


def _rows_for(kind: type[_E]) -> Callable[[Callable[[_E], FactRow]], Callable[[_E], FactRow]]:
    def register(row: Callable[[_E], FactRow]) -> Callable[[_E], FactRow]:
        _FACT_ROWS[kind] = cast(Callable[[Event], FactRow], row)
        return row

    return register


def fact_row(event: Event) -> FactRow | None:
    """The row a flow fact adds to its caller's timeline (None for any other event). Looked up by
    the event's exact type: every fact of every call passes here, a chain of isinstance does not."""
    row = _FACT_ROWS.get(type(event))
    return None if row is None else row(event)


@_rows_for(NodeEntered)
def _node(e: NodeEntered) -> FactRow:
    if e.place is None:  # any node but a later leg's resume step
        return FactRow(e.call_id, CallEventKind.NODE_ENTERED, e.node, {"kind": e.node_kind})
    return FactRow(e.call_id, CallEventKind.NODE_ENTERED, e.node, {"kind": e.node_kind} | _present(
        queue=e.queue, arrival=e.arrival.isoformat() if e.arrival else None, priority=e.priority, place=e.place))


@_rows_for(InputReceived)
def _input(e: InputReceived) -> FactRow:
    return FactRow(e.call_id, CallEventKind.INPUT, e.node, {
        "mode": e.mode, "digits": e.digits, "transcript": e.transcript, "key": e.key, "confidence": e.confidence,
        "engine": e.engine})


@_rows_for(NoInput)
def _no_input(e: NoInput) -> FactRow:
    return FactRow(e.call_id, CallEventKind.NO_INPUT, e.node, {})


@_rows_for(NoMatch)
def _no_match(e: NoMatch) -> FactRow:
    return FactRow(e.call_id, CallEventKind.NO_MATCH, e.node, _present(digits=e.digits, transcript=e.transcript))


@_rows_for(PromptPlayed)
def _prompt(e: PromptPlayed) -> FactRow:
    return FactRow(e.call_id, CallEventKind.PROMPT_PLAYED, e.node, {"prompt": e.prompt})


@_rows_for(LanguageSet)
def _language(e: LanguageSet) -> FactRow:
    return FactRow(e.call_id, CallEventKind.LANGUAGE_SET, e.node, {"language": e.language})


@_rows_for(VariableSet)
def _variable(e: VariableSet) -> FactRow:
    return FactRow(e.call_id, CallEventKind.VARIABLE_SET, e.node, _present(
        variables=list(e.variables) if e.variables is not None else None, need=e.need, variable=e.variable))


@_rows_for(ScheduleChecked)
def _schedule(e: ScheduleChecked) -> FactRow:
    data: dict[str, Any] = {"schedule": e.schedule} | _present(error=e.error)
    if e.reading is not None:
        data |= {"reason": e.reading.reason, "source": e.reading.source, "next_change": e.reading.next_change}
    return FactRow(e.call_id, CallEventKind.SCHEDULE, e.node, data | {"state": e.state})


@_rows_for(OrderLookedUp)
def _lookup(e: OrderLookedUp) -> FactRow:
    data = _present(order=e.order)
    data |= {"error": e.error} if e.error is not None else {"status": e.status}
    return FactRow(e.call_id, CallEventKind.LOOKUP, e.node, data)


@_rows_for(TransferDialled)
def _transfer(e: TransferDialled) -> FactRow:
    return FactRow(e.call_id, CallEventKind.TRANSFER, e.node, {"to": e.to} | _present(endpoint=e.endpoint,
                                                                                      queue=e.queue))


@_rows_for(TransferEnded)
def _transfer_ended(e: TransferEnded) -> FactRow:
    return FactRow(e.call_id, CallEventKind.TRANSFER, e.node, {"status": e.status, "talk_seconds": e.talk_seconds})


@_rows_for(CallbackRequested)
def _callback(e: CallbackRequested) -> FactRow:
    if e.accepted is None:  # after a drop: the source first, as the engine always wrote it
        data = {"source": e.source} | _present(refused=e.refused, queue=e.queue, callback_id=e.callback_id,
                                               scheduled_for=e.scheduled_for)
    else:
        data = {"queue": e.queue, "source": e.source, "accepted": e.accepted}
        if e.accepted:
            data |= {"callback_id": e.callback_id, "scheduled_for": e.scheduled_for, "merged": e.merged}
    return FactRow(e.call_id, CallEventKind.CALLBACK_REQUESTED, e.node, data)


@_rows_for(DeflectionOffered)
def _deflection_offered(e: DeflectionOffered) -> FactRow:
    data: dict[str, Any] = {"reason": e.reason, "offered": e.offered}
    data |= ({"answer": e.answer, "prompt_id": e.prompt_id, "prompt_version": e.prompt_version,
              "consent_mode": e.consent_mode} if e.offered else {"why": e.why})
    return FactRow(e.call_id, CallEventKind.DEFLECTION_OFFERED, e.node, data)


@_rows_for(DeflectionSent)
def _deflection_sent(e: DeflectionSent) -> FactRow:
    return FactRow(e.call_id, CallEventKind.DEFLECTION_SENT, e.node, {
        "link_id": e.link_id, "reference": e.reference, "channel": e.channel})


@_rows_for(ReturningCaller)
def _returning(e: ReturningCaller) -> FactRow:
    return FactRow(e.call_id, CallEventKind.RETURNING_CALLER, e.node, {
        "previous_call_id": e.previous_call_id, "queue": e.queue, "waited_seconds": e.waited_seconds})


@_rows_for(CallError)
def _error(e: CallError) -> FactRow:
    return FactRow(e.call_id, CallEventKind.ERROR, e.node, {"error": e.error} | _present(
        detail=e.detail, fallback=e.fallback, steps=e.steps, seconds=e.seconds))


@_rows_for(HungUp)
def _hangup(e: HungUp) -> FactRow:
    return FactRow(e.call_id, CallEventKind.HANGUP, e.node, {"by": e.by})


@_rows_for(CallResumed)
def _resumed(e: CallResumed) -> FactRow:
    return FactRow(e.call_id, CallEventKind.RESUMED, e.node, {
        "leg": e.leg, "owner": e.owner, "node": e.resumed_on, "previous_owner": e.previous_owner,
        "previous_disposition": e.previous_disposition})
