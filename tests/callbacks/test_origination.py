"""The built-in endpoint's originator and the fake one; the AGI script's guard for unknown ids."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from callbacks.ivr_handler import ScriptDeps, agi_script
from callbacks.models import AttemptOutcome
from callbacks.origination.base import Leg, OriginateRequest
from callbacks.origination.sip import SipOriginator
from callbacks.sessions import SessionRegistry
from ivr.channels.sip.errors import OriginateFailed, OriginateReason
from ivr.events import EventBus
from tests.support.fake_origination import FakeOriginator
from tests.support.scripted import ScriptedChannel, scripted_info


@dataclass
class FakeSip:
    fail: OriginateFailed | None = None
    calls: list[tuple[str, str, float]] = field(default_factory=list)

    def resolve(self, endpoint: str) -> str:
        return f"sip:{endpoint.rsplit('/', maxsplit=1)[-1]}@127.0.0.1:5080"

    async def originate(self, uri: str, *, caller_id: str, timeout: float) -> ScriptedChannel:
        self.calls.append((uri, caller_id, timeout))
        if self.fail is not None:
            raise self.fail
        return ScriptedChannel(call_info=scripted_info(call_id="sip-call-1"))


def req(leg: Leg, target: str) -> OriginateRequest:
    return OriginateRequest(callback_id="cb1", attempt=2, leg=leg, target=target, caller_id="+34910000000",
                            timeout=20.0)


async def test_sip_originator_legs_and_outcomes() -> None:
    sip = FakeSip()
    originator = SipOriginator(sip, customer_uri="sip:{number}@gw.example:5060")
    agent = await originator.originate(req(Leg.AGENT, "PJSIP/agent1"))
    assert agent.outcome is AttemptOutcome.ANSWERED and agent.channel is not None and agent.uniqueid == "sip-call-1"
    customer = await originator.originate(req(Leg.CUSTOMER, "+34600111222"))
    assert customer.outcome is AttemptOutcome.ANSWERED
    assert sip.calls == [("sip:agent1@127.0.0.1:5080", "+34910000000", 20.0),
                         ("sip:+34600111222@gw.example:5060", "+34910000000", 20.0)]
    assert originator.customer_target("+34600111222") == "sip:+34600111222@gw.example:5060"


@pytest.mark.parametrize("reason, outcome", [
    (OriginateReason.BUSY, AttemptOutcome.BUSY),
    (OriginateReason.NO_ANSWER, AttemptOutcome.NO_ANSWER),
    (OriginateReason.UNAVAILABLE, AttemptOutcome.FAILED),
    (OriginateReason.FAILED, AttemptOutcome.FAILED),
])
async def test_sip_failures(reason: OriginateReason, outcome: AttemptOutcome) -> None:
    sip = FakeSip(fail=OriginateFailed(reason, status=486 if reason is OriginateReason.BUSY else None))
    result = await SipOriginator(sip, customer_uri="sip:{number}@gw").originate(req(Leg.CUSTOMER, "+3460"))
    assert result.outcome is outcome and result.channel is None and reason.value in (result.detail or "")
    down = await SipOriginator(None, customer_uri="x").originate(req(Leg.CUSTOMER, "+3460"))
    assert down.outcome is AttemptOutcome.FAILED


async def test_fake_originator_outcomes_in_order() -> None:
    fake = FakeOriginator(outcomes=[AttemptOutcome.BUSY, AttemptOutcome.NO_ANSWER])
    results = [(await fake.originate(req(Leg.AGENT, "PJSIP/agent1"))).outcome for _ in range(3)]
    assert results == [AttemptOutcome.BUSY, AttemptOutcome.NO_ANSWER, AttemptOutcome.ANSWERED]
    assert len(fake.dials) == 3 and fake.dialing.is_set()


@dataclass(frozen=True)
class FakeEnv:
    arguments: tuple[str, ...] = ()


@dataclass
class AgiLike(ScriptedChannel):
    env: FakeEnv = field(default_factory=FakeEnv)
    asked: list[str] = field(default_factory=list)

    async def get_variable(self, name: str) -> str | None:
        self.asked.append(name)
        return "unknown-id"


async def test_agi_script_hangs_up_on_an_unknown_callback() -> None:
    channel = AgiLike(env=FakeEnv())
    handler = agi_script(SessionRegistry(), ScriptDeps(EventBus(), None, None))
    await handler(channel)
    assert channel.asked == ["CALLBACK_ID"] and channel.hung_up_by_us
