"""The flow's own facts about a call, typed: the engine (and the offers it shares with the hold
loop) publishes them through :class:`ivr.ports.CallEvents`; the call recorder writes each as one
timeline row (:mod:`ivr.calls.timeline`). Node entries and inputs are in :mod:`ivr.events.types`
(:class:`~ivr.events.types.NodeEntered`, :class:`~ivr.events.types.InputReceived`), as before.

None of these go to MQTT (``broadcast`` False): they are many and small, and carry what callers
said and keyed. Optional fields left None are left out of the row, as the timeline always had them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.events.types import Event


@dataclass(frozen=True, kw_only=True, slots=True)
class CallFact(Event):
    """A fact of one call, at one node (None: of the call as a whole)."""

    kind: ClassVar[str] = "call/fact"
    broadcast: ClassVar[bool] = False
    call_id: str
    node: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptPlayed(CallFact):
    kind: ClassVar[str] = "call/prompt"
    prompt: str  # the prompt's key, "<lang>/<id>"


@dataclass(frozen=True, kw_only=True, slots=True)
class LanguageSet(CallFact):
    kind: ClassVar[str] = "call/language"
    language: str


@dataclass(frozen=True, kw_only=True, slots=True)
class VariableSet(CallFact):
    """A set node's variables (their names), a need marked, or a collected value's variable."""

    kind: ClassVar[str] = "call/variable"
    variables: tuple[str, ...] | None = None
    need: str | None = None
    variable: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduleReading:
    reason: str | None
    source: str | None
    next_change: str | None  # ISO time


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduleChecked(CallFact):
    """A branch on the schedule: its state, and either what the service said or why it could not."""

    kind: ClassVar[str] = "call/schedule"
    schedule: str | None
    state: str
    error: str | None = None
    reading: ScheduleReading | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderLookedUp(CallFact):
    """An order lookup: its status (None: not found) or the error."""

    kind: ClassVar[str] = "call/lookup"
    order: str | None = None
    status: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferDialled(CallFact):
    """The call is handed on: to a number (``endpoint`` dialled) or to the dialplan's queue."""

    kind: ClassVar[str] = "call/transfer"
    to: str
    endpoint: str | None = None
    queue: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferEnded(CallFact):
    kind: ClassVar[str] = "call/transfer_result"
    status: str
    talk_seconds: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackRequested(CallFact):
    """A callback asked of the caller (``accepted``) or after they dropped (``accepted`` None)."""

    kind: ClassVar[str] = "call/callback"
    source: str
    queue: str | None = None
    accepted: bool | None = None
    callback_id: str | None = None
    scheduled_for: str | None = None  # ISO time
    merged: bool | None = None
    refused: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeflectionOffered(CallFact):
    """A link offered (``offered`` False: no message channel; ``why`` says so) and the answer."""

    kind: ClassVar[str] = "call/deflection_offered"
    reason: str
    offered: bool
    why: str | None = None
    answer: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    consent_mode: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeflectionSent(CallFact):
    kind: ClassVar[str] = "call/deflection_sent"
    link_id: str
    reference: str
    channel: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ReturningCaller(CallFact):
    kind: ClassVar[str] = "call/returning"
    previous_call_id: str
    queue: str
    waited_seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class CallError(CallFact):
    """Something went wrong in the call (``error`` names it) and what the flow did about it."""

    kind: ClassVar[str] = "call/error"
    error: str
    detail: str | None = None
    fallback: str | None = None
    steps: int | None = None
    seconds: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HungUp(CallFact):
    kind: ClassVar[str] = "call/hangup"
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CallResumed(CallFact):
    """A later leg of a call took over on this node (published by the call recorder, which read
    the earlier legs' record)."""

    kind: ClassVar[str] = "call/resumed"
    leg: int
    owner: str | None
    resumed_on: str | None  # the node (server) name
    previous_owner: str | None
    previous_disposition: str | None
