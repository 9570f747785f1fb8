"""Values the callbacks domain hands around: a callback and its attempts, as read from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callbacks.models import ACTIVE_STATES, AttemptOutcome, CallbackAttemptRow, CallbackRow, CallbackState
from ivr.ports import CallbackSource


@dataclass(frozen=True, slots=True)
class NewCallback:
    number: str  # E.164
    queue: str
    source: CallbackSource
    arrival_time: datetime
    due_at: datetime
    max_attempts: int
    language: str | None = None
    waited_seconds: float = 0.0
    position: int | None = None
    context: dict[str, Any] | None = None
    timezone: str | None = None  # the customer's chosen zone (None: the number's zones)


@dataclass(frozen=True, slots=True)
class Attempt:
    seq: int
    started_at: datetime
    ended_at: datetime | None
    outcome: AttemptOutcome | None
    mode: str
    target: str | None
    agent_id: str | None
    dispatcher: str
    counted: bool
    detail: str | None
    leg_outcome: AttemptOutcome | None = None  # the first leg's answer, when it came back
    channel: str | None = None

    @classmethod
    def of(cls, row: CallbackAttemptRow) -> Attempt:
        return cls(row.seq, row.started_at, row.ended_at, AttemptOutcome(row.outcome) if row.outcome else None,
                   row.mode, row.target, row.agent_id, row.dispatcher, bool(row.counted), row.detail,
                   AttemptOutcome(row.leg_outcome) if row.leg_outcome else None, row.channel)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "outcome": self.outcome.value if self.outcome else None, "mode": self.mode, "target": self.target,
            "agent_id": self.agent_id, "dispatcher": self.dispatcher, "counted": self.counted, "detail": self.detail,
            "leg_outcome": self.leg_outcome.value if self.leg_outcome else None, "channel": self.channel,
        }


@dataclass(frozen=True, slots=True)
class Callback:
    id: str
    number: str
    queue: str
    source: CallbackSource
    state: CallbackState
    arrival_time: datetime
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    attempts: int
    max_attempts: int
    language: str | None
    waited_seconds: float
    position: int | None
    context: dict[str, Any] | None
    merged: int
    lease_owner: str | None
    leased_until: datetime | None
    last_outcome: AttemptOutcome | None
    reason: str | None
    history: tuple[Attempt, ...] = field(default=())
    timezone: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @classmethod
    def of(cls, row: CallbackRow, history: tuple[Attempt, ...] = ()) -> Callback:
        return cls(
            id=row.id, number=row.number, queue=row.queue, source=CallbackSource(row.source),
            state=CallbackState(row.state), arrival_time=row.arrival_time, due_at=row.due_at,
            created_at=row.created_at, updated_at=row.updated_at, attempts=row.attempts,
            max_attempts=row.max_attempts, language=row.language, waited_seconds=row.waited_seconds,
            position=row.position, context=dict(row.context) if row.context else None, merged=row.merged,
            lease_owner=row.lease_owner, leased_until=row.leased_until,
            last_outcome=AttemptOutcome(row.last_outcome) if row.last_outcome else None, reason=row.reason,
            history=history, timezone=row.timezone,
        )

    def to_dict(self, *, with_attempts: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "number": self.number, "queue": self.queue, "source": self.source.value,
            "state": self.state.value, "arrival_time": self.arrival_time.isoformat(),
            "due_at": self.due_at.isoformat(), "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(), "attempts": self.attempts,
            "max_attempts": self.max_attempts, "language": self.language, "waited_seconds": self.waited_seconds,
            "position": self.position, "merged": self.merged,
            "last_outcome": self.last_outcome.value if self.last_outcome else None, "reason": self.reason,
            "lease_owner": self.lease_owner,
            "leased_until": self.leased_until.isoformat() if self.leased_until else None,
            "context": self.context, "timezone": self.timezone,
        }
        if with_attempts:
            out["attempts_log"] = [a.to_dict() for a in self.history]
        return out


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    outcome: AttemptOutcome
    counted: bool
    state: CallbackState  # the callback's next state
    due_at: datetime | None = None  # for SCHEDULED
    detail: str | None = None
    reason: str | None = None


def active_key(number: str, queue: str) -> str:
    return f"{number}|{queue}"
