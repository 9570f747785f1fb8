"""The :class:`Originator` protocol: place one outbound leg of a callback and say how it ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from callbacks.models import AttemptOutcome
from callbacks.takeover import Probe
from ivr.channel import Channel, DialStatus


class Leg(enum.StrEnum):
    AGENT = "agent"  # agent-first: the agent is rung first
    CUSTOMER = "customer"  # customer-first


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    callback_id: str
    attempt: int
    leg: Leg
    target: str  # the agent's endpoint (PJSIP/agent1, sip:...) or the customer's E.164 number
    caller_id: str
    timeout: float  # seconds to ring
    caller_name: str = "Callback"


@dataclass(frozen=True, slots=True)
class OriginateResult:
    outcome: AttemptOutcome
    # ANSWERED with a channel: the caller of ``originate`` runs the call script on it. ANSWERED
    # without one: the call script runs elsewhere (Asterisk runs it through FastAGI).
    channel: Channel | None = field(default=None, compare=False)
    detail: str | None = None
    uniqueid: str | None = None


class Originator(Protocol):
    async def originate(self, request: OriginateRequest) -> OriginateResult: ...

    async def probe(self, callback_id: str, attempt: int) -> Probe:
        """What the origination side knows now of an attempt a dead dispatcher placed (or meant to)."""
        ...

    def customer_target(self, number: str) -> str:
        """What an agent's channel dials to reach the customer (agent-first)."""
        ...


def outcome_of_dial(status: DialStatus) -> AttemptOutcome:
    """A Dial's DIALSTATUS (the customer leg dialled from the agent's channel) as an attempt outcome."""
    return {
        DialStatus.ANSWER: AttemptOutcome.ANSWERED,
        DialStatus.BUSY: AttemptOutcome.BUSY,
        DialStatus.NOANSWER: AttemptOutcome.NO_ANSWER,
    }.get(status, AttemptOutcome.FAILED)


def dial_status_of(outcome: AttemptOutcome) -> DialStatus:
    """An originate outcome of the agent leg, as the ACD wants it in ``finish_assignment``."""
    return {
        AttemptOutcome.ANSWERED: DialStatus.ANSWER,
        AttemptOutcome.BUSY: DialStatus.BUSY,
        AttemptOutcome.NO_ANSWER: DialStatus.NOANSWER,
    }.get(outcome, DialStatus.CHANUNAVAIL)
