"""API shapes (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from callbacks.values import Callback
from ivr.ports import CallbackSource


class AttemptOut(BaseModel):
    seq: int
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    mode: str
    target: str | None
    agent_id: str | None
    counted: bool
    detail: str | None


class CallbackOut(BaseModel):
    id: str
    number: str
    queue: str
    source: str
    state: str
    arrival_time: datetime
    due_at: datetime
    created_at: datetime
    attempts: int
    max_attempts: int
    last_outcome: str | None
    reason: str | None
    merged: int
    context: dict[str, Any] | None = None
    attempts_log: list[AttemptOut] | None = None

    @classmethod
    def of(cls, cb: Callback, *, with_attempts: bool = False) -> CallbackOut:
        data = cb.to_dict(with_attempts=with_attempts)
        return cls.model_validate(data)


class CallbackCreate(BaseModel):
    number: str = Field(min_length=3, max_length=32)
    queue: str = Field(min_length=1, max_length=64)
    at: AwareDatetime | None = None
    source: CallbackSource = CallbackSource.API
    language: str | None = Field(default=None, max_length=8)


class CallbackReschedule(BaseModel):
    at: AwareDatetime


class TicketOut(BaseModel):
    callback_id: str
    scheduled_for: datetime
    merged: bool
