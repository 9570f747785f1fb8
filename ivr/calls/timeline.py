"""The caller's timeline rows for the ACD's typed events: what the call recorder writes when the
hold loop publishes (the loop publishes once; nobody records the same fact a second way).

Row shapes are the timeline's, as ``ivr calls show`` and the reconciler of dead nodes read them:
``queue_joined`` names the queue; ``queue_left`` the outcome and the total wait (a returning
caller's credit included) beside this call's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.events.types import (
    AgentConnected,
    AgentMissed,
    AgentOffered,
    Event,
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
