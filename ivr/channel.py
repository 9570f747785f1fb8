"""The one seam between the flow engine and telephony.

A :class:`Channel` is one live caller. Backends: ``AgiChannel`` (Asterisk FastAGI, + AudioSocket for
speech), ``SipChannel`` (the built-in SIP/RTP endpoint) and ``ScriptedChannel`` (unit tests). The
engine, the ACD hold loop, callbacks and deflection only ever see this protocol.

Rules every backend follows:
- Once the caller has hung up, every operation raises :class:`CallerHungUp` (the engine turns that
  into the call's end). ``hung_up`` tells without raising; ``wait_hangup()`` waits for it.
- Prompts are :class:`PromptFile` values: a sound key relative to the prompt store, without
  extension and with the language folder, e.g. ``es/greeting``. Backends map keys to what they
  can play (Asterisk sound name ``puente/es/greeting``; a WAV path for the built-in endpoint).
- Digits are the characters ``0-9*#`` (and ``A-D``).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ivr.callcontrol import LiveBridge


class ChannelError(Exception):
    """A telephony operation failed in a way the flow may handle (e.g. fall back)."""


class CallerHungUp(ChannelError):
    """The caller is gone; nothing more can be done on this channel."""


class Backend(enum.StrEnum):
    """The shipped channel kinds (a test double brings its own kind: :attr:`CallInfo.backend`)."""

    AGI = "agi"
    SIP = "sip"


@dataclass(frozen=True, slots=True)
class PromptFile:
    """One audio file of the prompt store, by key (``es/greeting``, ``en/digits/5``)."""

    key: str


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What telephony tells us about a call when it arrives."""

    call_id: str  # Asterisk uniqueid, SIP Call-ID, or generated
    caller: str  # as received (E.164 where possible); never logged unmasked
    dialled: str  # the number dialled (DNID / extension / request URI user)
    # The channel's kind, recorded with the call: a Backend for the shipped channels; any StrEnum
    # so that test doubles (tests/support/scripted.py) need no value in the production enum.
    backend: enum.StrEnum
    started_at: datetime
    linked_id: str | None = None
    caller_name: str | None = None
    flow_hint: str | None = None  # a flow named by the request (agi://host/<flow>)
    arguments: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)  # agi://...?k=v and similar
    channel_name: str | None = None  # e.g. PJSIP/sipp-00000017
    # Several nodes: the call was on another Puente node before (that node died and the dialplan
    # sent the caller on with PUENTE_CALL_ID and PUENTE_QUEUE as AGI arguments): its call id and
    # the queue it had chosen. None: the call's first leg.
    resumed_from: str | None = None
    resumed_queue: str | None = None


class InputMode(enum.StrEnum):
    DTMF = "dtmf"
    SPEECH = "speech"
    NONE = "none"  # nothing before the timeout


@dataclass(frozen=True, slots=True)
class Grammar:
    """What speech may match: phrases (lower-case, already including synonyms) to a key.

    ``phrases`` maps every accepted phrase to the option's key (the digit of the menu option, or a
    symbolic key such as ``agent``). Spoken digits ("two", "dos") are added by the recognizer layer.
    """

    language: str
    phrases: dict[str, str]


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How to collect one input: keys and/or speech, after (and during) a prompt."""

    max_digits: int = 1
    min_digits: int = 1
    terminator: str = "#"
    first_timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    grammar: Grammar | None = None  # None: keypad only
    barge_in: bool = True  # a key or speech stops the prompt


@dataclass(frozen=True, slots=True)
class InputResult:
    mode: InputMode
    digits: str = ""
    transcript: str = ""
    key: str | None = None  # the grammar key speech matched (None: no match)
    confidence: float | None = None
    engine: str | None = None
    latency_ms: float | None = None


class DialStatus(enum.StrEnum):
    """Outcome of connecting the caller to another party (Asterisk's DIALSTATUS vocabulary)."""

    ANSWER = "ANSWER"
    NOANSWER = "NOANSWER"
    BUSY = "BUSY"
    CHANUNAVAIL = "CHANUNAVAIL"
    CONGESTION = "CONGESTION"
    CANCEL = "CANCEL"  # the caller left while it rang


@dataclass(frozen=True, slots=True)
class ConnectResult:
    status: DialStatus
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0
    hangup_cause: int | None = None
    peer: str | None = None


@runtime_checkable
class Channel(Protocol):
    """One live call, seen from the engine."""

    @property
    def info(self) -> CallInfo: ...

    @property
    def hung_up(self) -> bool: ...

    async def wait_hangup(self) -> None:
        """Return when the caller hangs up (never raises)."""
        ...

    async def answer(self) -> None: ...

    async def play(self, prompts: Sequence[PromptFile], *, interrupt_digits: str = "") -> str | None:
        """Play the prompts in order; return the digit that interrupted them, if any."""
        ...

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        """Play the prompts and collect keys (and speech when ``spec.grammar`` is set)."""
        ...

    async def hold(
        self, seconds: float, *, interrupt_digits: str = "", wake: asyncio.Event | None = None
    ) -> str | None:
        """Music on hold for up to ``seconds``; return early with a pressed digit, or when
        ``wake`` is set (then return None). Music stops when this returns."""
        ...

    async def connect(
        self,
        endpoint: str,
        *,
        timeout: float,
        caller_id: str | None = None,
        on_answer: Callable[[], None] | None = None,
        announce: Sequence[PromptFile] = (),
        bridge: LiveBridge | None = None,
    ) -> ConnectResult:
        """Ring ``endpoint`` at once and bridge the caller to it; return when the bridge ends or the
        dial fails. With ANSWER the caller may still be on the line afterwards (check ``hung_up``).

        ``on_answer`` is called (from the event loop, must not block) the moment the agent leg
        answers, before the bridge ends; ``announce`` is played to the caller while the agent rings
        where the backend can (never delaying the ring). Ring and talk times are the agent leg's.
        ``bridge`` (:mod:`ivr.callcontrol`): the backend attaches its hold/transfer operations to it
        when the agent answers, and follows its hold until the contact ends."""
        ...

    async def set_variable(self, name: str, value: str) -> None:
        """Expose a value to the telephony side (Asterisk channel variable; no-op elsewhere)."""
        ...

    async def hangup(self) -> None:
        """End the call from our side (idempotent)."""
        ...
