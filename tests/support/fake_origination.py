"""A fake originator for tests and the benchmark: configurable outcomes, every dial recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from callbacks.models import AttemptOutcome
from callbacks.origination.base import OriginateRequest, OriginateResult
from callbacks.takeover import Probe, ProbeState
from ivr.channel import Channel
from tests.support.scripted import ScriptedChannel, scripted_info


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
    ended: dict[tuple[str, int], AttemptOutcome] = field(default_factory=dict)
    probe_answer: Probe | None = None  # when set, every probe answers this
    probes: list[tuple[str, int]] = field(default_factory=list)

    def customer_target(self, number: str) -> str:
        return self.customer_template.format(number=number)

    async def probe(self, callback_id: str, attempt: int) -> Probe:
        self.probes.append((callback_id, attempt))
        if self.probe_answer is not None:
            return self.probe_answer
        outcome = self.ended.get((callback_id, attempt))
        if outcome is not None:
            return Probe(ProbeState.ENDED, outcome)
        if any(d.callback_id == callback_id and d.attempt == attempt for d in self.dials):
            return Probe(ProbeState.LIVE)
        return Probe(ProbeState.NEVER)

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        self.dials.append(request)
        self.dialing.set()
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes.pop(0) if self.outcomes else self.default
        self.ended[(request.callback_id, request.attempt)] = outcome
        if outcome is AttemptOutcome.ANSWERED:
            channel = None if self.remote else self.channel_factory(request)
            return OriginateResult(outcome, channel=channel, detail="fake answer")
        return OriginateResult(outcome, detail=f"fake {outcome.value}")
