"""What the flow engine (and the hold loop) need from the other domains.

The engine depends on these protocols only; the composition root (``ivr.serve``) plugs in the real
services (``ivr.acd``, ``callbacks``, ``deflection``, ``ivr.calls``), and unit tests plug in fakes
that implement the same protocols.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ivr.channel import CallInfo, Channel
from ivr.context import CallContext, ContextSnapshot, InputRecord
from ivr.events.types import Event

# --------------------------------------------------------------------------- call records


class CallEventKind(enum.StrEnum):
    NODE_ENTERED = "node_entered"
    PROMPT_PLAYED = "prompt_played"
    INPUT = "input"
    NO_INPUT = "no_input"
    NO_MATCH = "no_match"
    LANGUAGE_SET = "language_set"
    VARIABLE_SET = "variable_set"
    SCHEDULE = "schedule"
    QUEUE_JOINED = "queue_joined"
    QUEUE_LEFT = "queue_left"
    EWT_ANNOUNCED = "ewt_announced"
    AGENT_OFFERED = "agent_offered"
    AGENT_CONNECTED = "agent_connected"
    TRANSFER = "transfer"
    CALLBACK_REQUESTED = "callback_requested"
    DEFLECTION_OFFERED = "deflection_offered"
    DEFLECTION_SENT = "deflection_sent"
    LOOKUP = "lookup"
    RETURNING_CALLER = "returning_caller"
    ERROR = "error"
    HANGUP = "hangup"
    RESUMED = "resumed"  # a later leg: another node took the call over (several nodes)


class Disposition(enum.StrEnum):
    COMPLETED = "completed"  # the flow ended the call normally
    CALLER_HANGUP = "caller_hangup"  # the caller left inside the flow
    ABANDONED = "abandoned"  # the caller left while queued
    CONNECTED = "connected"  # talked to an agent
    TRANSFERRED = "transferred"  # sent to an external number
    CALLBACK = "callback"  # left with a callback scheduled
    DEFLECTED = "deflected"  # left with a link sent
    OVERFLOW = "overflow"
    FAILED = "failed"  # an error ended the call
    LOST_ON_RESTART = "lost_on_restart"  # the process carrying it died; closed by ivr.nodes
    TIME_LIMIT = "time_limit"  # the call spent the longest time allowed in the IVR's menus


class CallEvents(Protocol):
    """Where the call path publishes its facts, typed (:mod:`ivr.events.flow`,
    :mod:`ivr.events.types`): once each, onto the event bus, where the call recorder, the metrics and
    MQTT take them. Synchronous and never blocking: a failing subscriber is logged by the bus."""

    def publish(self, event: Event) -> None: ...


class CallRecorder(CallEvents, Protocol):
    """The call's record: its start and end are awaited (a later leg's start reads the earlier
    legs' record; the end waits, bounded, until the call's rows are written) and published by the
    recorder; every fact in between is published through :meth:`publish` (the bus), and the recorder
    writes its row from the bus."""

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None: ...

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class EarlierLegs:
    """What a call's earlier legs (on nodes that died) recorded: so the node carrying it now knows
    what the caller already told us (the agent's screen pop shows it)."""

    path: tuple[str, ...] = ()
    inputs: tuple[InputRecord, ...] = ()
    language: str | None = None
    need: str | None = None


@runtime_checkable
class LegHistory(Protocol):
    """A recorder that can tell a resumed call's earlier legs (the call store)."""

    async def earlier_legs(self, call_id: str) -> EarlierLegs | None: ...


@dataclass(frozen=True, slots=True)
class RecentContact:
    """A caller's recent call that ended without reaching an agent (for returning callers)."""

    call_id: str
    queue: str | None
    waited_seconds: float
    ended_at: datetime
    disposition: Disposition


class CallHistory(Protocol):
    async def recent_unresolved(self, caller: str, *, within_minutes: float) -> RecentContact | None: ...


# --------------------------------------------------------------------------- queue (ACD)


class QueueOutcomeKind(enum.StrEnum):
    CONNECTED = "connected"  # bridged to an agent; the bridge has ended
    ABANDONED = "abandoned"  # the caller hung up while waiting
    OVERFLOW = "overflow"  # max wait reached: the flow continues at the queue node's overflow
    CALLBACK = "callback"  # the caller chose a callback that keeps their place, then left
    DEFLECTED = "deflected"  # the caller took a link and chose to leave
    UNAVAILABLE = "unavailable"  # no such queue / no agents at all: flow falls back


@dataclass(frozen=True, slots=True)
class QueueRequest:
    queue: str
    context: CallContext
    priority: int = 0
    credit_seconds: float = 0.0  # a returning caller's earlier wait


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    kind: QueueOutcomeKind
    waited_seconds: float = 0.0
    agent_id: str | None = None
    position_at_exit: int | None = None


class QueueService(Protocol):
    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome: ...


@dataclass(frozen=True, slots=True)
class HeldPlace:
    """A call's place in line kept while its node is gone (several nodes: the dialplan sent the
    caller on to another node). ``priority`` is on top of the queue's own, as a queue node gives it;
    ``live``: the entry is still in line (the dead node's lease has not run out), else orphaned."""

    queue: str
    arrival: datetime
    priority: int
    live: bool


@runtime_checkable
class PlaceKeeper(Protocol):
    """A queue service that keeps a dead node's callers' places (the shared line)."""

    async def held_place(self, call_id: str) -> HeldPlace | None: ...


# --------------------------------------------------------------------------- callbacks


class CallbackSource(enum.StrEnum):
    ABANDON = "abandon"
    FLOW_DROP = "flow_drop"
    QUEUE_KEY = "queue_key"
    AFTER_HOURS = "after_hours"
    FLOW = "flow"  # an offer_callback node
    PAGE = "page"  # the deflection landing page
    API = "api"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    number: str
    queue: str
    source: CallbackSource
    context: ContextSnapshot | None = None
    not_before: datetime | None = None  # e.g. the time chosen on the page, or next opening
    arrival_time: datetime | None = None  # original arrival: keeps the caller's place in line
    waited_seconds: float = 0.0
    position: int | None = None
    language: str | None = None
    # The zone the customer chose (IANA name): quiet hours and the calling window are judged in it
    # alone. None: every zone the number's country spans.
    timezone: str | None = None
    # True: book exactly ``not_before`` or refuse (the page's chosen slot is never moved silently).
    exact: bool = False


@dataclass(frozen=True, slots=True)
class CallbackTicket:
    callback_id: str
    scheduled_for: datetime
    merged: bool = False  # an active callback for this number and queue already existed


class CallbackRefused(Exception):
    """The policy does not allow this callback (source off, opted out, invalid number...)."""


class CallbackPort(Protocol):
    async def request(self, req: CallbackRequest) -> CallbackTicket:
        """Apply the queue's policy; raise :class:`CallbackRefused` with a reason when refused."""
        ...

    async def reached_agent(self, number: str, queue: str) -> None:
        """The number talked to an agent: cancel its active callbacks for that queue."""
        ...


# --------------------------------------------------------------------------- deflection


class MessageChannel(enum.StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"


class ConsentMethod(enum.StrEnum):
    KEY = "key"
    SPEECH = "speech"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class Consent:
    method: ConsentMethod
    at: datetime
    prompt_id: str
    prompt_version: str


@dataclass(frozen=True, slots=True)
class DeflectionRequest:
    number: str
    context: ContextSnapshot
    reason: str  # "queue_wait", "after_hours", "flow_offer"
    consent: Consent
    channel: MessageChannel | None = None  # None: the best available


@dataclass(frozen=True, slots=True)
class LinkTicket:
    link_id: str
    reference: str  # short human reference code, also used on WhatsApp
    url: str
    channel: MessageChannel


class DeflectionRefused(Exception):
    """No link can be sent (opted out, invalid number, provider down...)."""


class DeflectionPort(Protocol):
    async def channels_for(self, number: str) -> list[MessageChannel]:
        """The message channels usable for this number, best first."""
        ...

    async def send_link(self, req: DeflectionRequest) -> LinkTicket: ...

    async def declined(self, number: str, reason: str) -> None:
        """The caller turned an offer down (counted as offered, never accepted)."""
        ...


# --------------------------------------------------------------------------- everything together


@dataclass(slots=True)
class Services:
    """The engine's collaborators; ``None`` means the feature is not wired (the flow falls back)."""

    recorder: CallRecorder
    queues: QueueService | None = None
    callbacks: CallbackPort | None = None
    deflection: DeflectionPort | None = None
    history: CallHistory | None = None


class FlowRunner(Protocol):
    """Runs one call through the flows (:class:`ivr.flows.engine.FlowEngine`): what a channel's server
    (FastAGI, the built-in SIP endpoint) hands each call it answers."""

    async def run(self, channel: Channel) -> Disposition: ...
