"""Read-side values: a call and its timeline, as the CLI, the API and the agent desk see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr.logs import mask_number


@dataclass(frozen=True, slots=True)
class CallEventRecord:
    seq: int
    at: datetime
    kind: str
    node: str | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "node": self.node,
            "data": dict(self.data or {}),
        }


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    caller: str
    dialled: str
    backend: str
    flow: str
    language: str
    started_at: datetime
    linked_id: str | None = None
    ended_at: datetime | None = None
    disposition: str | None = None
    queue: str | None = None
    waited_seconds: float | None = None
    agent_id: str | None = None
    events: tuple[CallEventRecord, ...] = ()
    legs: int = 1  # nodes that carried it: >1 when a dead node's caller was resumed on another

    @property
    def resumed_on(self) -> tuple[str, ...]:
        """The nodes a later leg ran on, in order (from the timeline's ``resumed`` events)."""
        return tuple(str((e.data or {}).get("node") or "?") for e in self.events if e.kind == "resumed")

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self, *, mask: bool = False) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "linked_id": self.linked_id,
            "caller": mask_number(self.caller) if mask else self.caller,
            "dialled": self.dialled,
            "backend": self.backend,
            "flow": self.flow,
            "language": self.language,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_seconds": self.duration_seconds,
            "disposition": self.disposition,
            "queue": self.queue,
            "waited_seconds": self.waited_seconds,
            "agent_id": self.agent_id,
            "legs": self.legs,
            "events": [e.to_dict() for e in self.events],
        }
