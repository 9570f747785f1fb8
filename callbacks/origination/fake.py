"""A fake originator for tests and the benchmark: configurable outcomes, every dial recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from callbacks.models import AttemptOutcome
from callbacks.origination.base import OriginateRequest, OriginateResult
from ivr.channel import Channel
from ivr.channels.scripted import ScriptedChannel, scripted_info


def answering_channel(request: OriginateRequest) -> Channel:
    """The answered leg: a scripted party who stays until the script ends (the next connect answers)."""
    return ScriptedChannel(call_info=scripted_info(caller=request.target,
                                                   call_id=f"fake-{request.callback_id}-{request.attempt}"))


@dataclass
class FakeOriginator:
    """``outcomes`` are consumed in order (then ``default``); ``gate`` (when set) holds every dial until
    it is set, ``dialing`` is set when a dial starts (for tests that kill a dispatcher mid-dial)."""

    outcomes: list[AttemptOutcome] = field(default_factory=list)
    default: AttemptOutcome = AttemptOutcome.ANSWERED
    channel_factory: Callable[[OriginateRequest], Channel] = answering_channel
    customer_template: str = "PJSIP/{number}@trunk"
    gate: asyncio.Event | None = None
    dialing: asyncio.Event = field(default_factory=asyncio.Event)
    dials: list[OriginateRequest] = field(default_factory=list)
    remote: bool = False  # answered without a channel: the script runs elsewhere (like Asterisk's AGI)

    def customer_target(self, number: str) -> str:
        return self.customer_template.format(number=number)

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        self.dials.append(request)
        self.dialing.set()
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes.pop(0) if self.outcomes else self.default
        if outcome is AttemptOutcome.ANSWERED:
            channel = None if self.remote else self.channel_factory(request)
            return OriginateResult(outcome, channel=channel, detail="fake answer")
        return OriginateResult(outcome, detail=f"fake {outcome.value}")
