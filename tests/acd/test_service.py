"""AcdService API: callbacks as virtual entries, device states, agent commands, EWT."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ivr.acd.devices import device_target
from ivr.acd.ewt import Method
from ivr.acd.types import AgentState, CallbackEntry, EntryKind, InvalidTransition, StateReason, UnknownAgent
from ivr.channel import ConnectResult, DialStatus
from tests.support.acd_fakes import make_service, support_queue


async def test_callback_keeps_its_original_place_in_line() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    now = service.clock()
    caller = service.join("support", arrival=now, priority=0, kind=EntryKind.CALL, call_id="c1")
    entry = CallbackEntry("cb9", "support", arrival_time=now - timedelta(minutes=10))
    waiting = asyncio.create_task(service.wait_for_agent(entry, timeout=20))
    async with asyncio.timeout(20):
        while "callback:cb9" not in service.router.entries:
            await asyncio.sleep(0)
    assert service.position_of("callback:cb9") == 1 and service.position_of(caller.entry_id) == 2
    service.set_agent_state("a2", AgentState.AVAILABLE)
    assignment = await asyncio.wait_for(waiting, 20)
    assert assignment is not None and assignment.agent_id == "a2" and assignment.endpoint == "PJSIP/agent2"
    assert assignment.arrival_time == entry.arrival_time
    assert "callback:cb9" not in service.router.entries
    assert service.agent("a2").state is AgentState.RINGING  # reserved until finished
    assert caller.assignment is None
    await service.finish_assignment(assignment, ConnectResult(DialStatus.ANSWER, talk_seconds=30))
    assert service.agent("a2").state is AgentState.WRAP_UP


async def test_callback_no_answer_puts_the_agent_away_and_timeout_removes_the_entry() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    entry = CallbackEntry("cb1", "support", arrival_time=service.clock())
    assignment = await service.wait_for_agent(entry, timeout=1)
    assert assignment is not None
    await service.finish_assignment(assignment, ConnectResult(DialStatus.NOANSWER))
    assert service.agent("a1").state is AgentState.AWAY
    assert await service.wait_for_agent(CallbackEntry("cb2", "support", service.clock()), timeout=0.05) is None
    assert not service.router.entries


async def test_callback_customer_gone_frees_the_agent_and_unreachable_goes_offline() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    first = await service.wait_for_agent(CallbackEntry("cb1", "support", service.clock()), timeout=1)
    assert first is not None
    await service.finish_assignment(first, ConnectResult(DialStatus.CANCEL))
    assert service.agent("a1").state is AgentState.AVAILABLE
    second = await service.wait_for_agent(CallbackEntry("cb2", "support", service.clock()), timeout=1)
    assert second is not None
    await service.finish_assignment(second, ConnectResult(DialStatus.CHANUNAVAIL))
    assert service.agent("a1").state is AgentState.OFFLINE


def test_state_changes_during_a_contact_wait_for_its_end() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    waiter = service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id="c")
    assert waiter.assignment is not None
    service.set_agent_state("a1", AgentState.AWAY)  # pressed "away" while ringing
    assert service.agent("a1").state is AgentState.RINGING
    service.answered(waiter, answered_at=service.clock())
    service.contact_ended("a1", "support", talk_seconds=10)
    assert service.agent("a1").state is AgentState.AWAY
    with pytest.raises(InvalidTransition):
        service.set_agent_state("a1", AgentState.RINGING)
    with pytest.raises(UnknownAgent):
        service.set_agent_state("nobody", AgentState.AVAILABLE)


@pytest.mark.parametrize(
    ("current", "reason", "device", "expected"),
    [
        (AgentState.AVAILABLE, StateReason.ADMIN, "UNAVAILABLE", (AgentState.OFFLINE, StateReason.DEVICE)),
        (AgentState.OFFLINE, StateReason.DEVICE, "NOT_INUSE", (AgentState.AVAILABLE, StateReason.DEVICE)),
        (AgentState.OFFLINE, StateReason.UNREACHABLE, "NOT_INUSE", (AgentState.AVAILABLE, StateReason.DEVICE)),
        (AgentState.OFFLINE, StateReason.ADMIN, "NOT_INUSE", None),  # logged out stays out
        (AgentState.AVAILABLE, StateReason.ADMIN, "INUSE", (AgentState.BUSY, StateReason.DEVICE)),
        (AgentState.AVAILABLE, StateReason.ADMIN, "RINGING", (AgentState.BUSY, StateReason.DEVICE)),
        (AgentState.BUSY, StateReason.DEVICE, "NOT_INUSE", (AgentState.AVAILABLE, StateReason.DEVICE)),
        (AgentState.WRAP_UP, StateReason.CONTACT, "NOT_INUSE", None),
        (AgentState.AWAY, StateReason.NO_ANSWER, "NOT_INUSE", None),
        (AgentState.AWAY, StateReason.ADMIN, "INUSE", None),
        (AgentState.OFFLINE, StateReason.DEVICE, "UNAVAILABLE", None),
        (AgentState.AVAILABLE, StateReason.ADMIN, "UNKNOWN", None),
    ],
)
def test_device_state_mapping(current: AgentState, reason: StateReason, device: str,
                              expected: tuple[AgentState, StateReason] | None) -> None:
    assert device_target(current, reason, has_contact=False, device_state=device) == expected


def test_device_events_never_touch_an_agent_in_a_contact() -> None:
    assert device_target(AgentState.RINGING, StateReason.OFFER, has_contact=True, device_state="NOT_INUSE") is None
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    waiter = service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id="c")
    service.device_state("PJSIP/agent1", "RINGING")
    service.device_state("PJSIP/agent1", "NOT_INUSE")
    assert service.agent("a1").state is AgentState.RINGING and waiter.assignment is not None
    service.device_state("PJSIP/agent1", "INUSE")  # picked up: busy while the bridge lasts
    assert service.agent("a1").state is AgentState.BUSY and waiter.assignment is not None
    service.device_state("PJSIP/agent1", "UNAVAILABLE")  # the dial result decides, not the device
    assert service.agent("a1").state is AgentState.BUSY
    service.device_state("PJSIP/agent2", "NOT_INUSE")  # offline by admin: stays offline
    assert service.agent("a2").state is AgentState.OFFLINE


def test_ewt_is_qlm_from_the_configured_prior_then_history() -> None:
    service = make_service([support_queue(expected_handle_seconds=240.0)], with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    service.set_agent_state("a2", AgentState.BUSY)
    service.join("support", arrival=service.clock() - timedelta(seconds=50), priority=0, kind=EntryKind.CALL,
                 call_id="x")
    service.rates["support"].record_entered_service(0.0)  # LES would say 0, HOL 50 s: neither is used
    cold = service.estimate("support")  # one ahead, two agents, the configured 240 s: 2 * 120 s
    assert cold is not None and cold.method is Method.QLM and cold.seconds == pytest.approx(240.0)
    for _ in range(3000):
        service.rates["support"].record_service(120.0)
    warm = service.estimate("support")
    assert warm is not None and warm.seconds == pytest.approx(120.0, rel=0.05)


def test_low_priority_caller_expects_to_be_overtaken() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    service.set_agent_state("a2", AgentState.BUSY)
    low = service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id="low")
    alone = service.estimate_for(low)
    for k in range(5):  # high-priority callers keep arriving (and are served first)
        vip = service.join("support", arrival=service.clock(), priority=5, kind=EntryKind.CALL, call_id=f"vip{k}")
        service.leave(vip)
    later = service.estimate_for(low)
    assert alone is not None and later is not None
    assert later.method is Method.QLM_PRIORITY and later.seconds > alone.seconds
    vip = service.join("support", arrival=service.clock(), priority=5, kind=EntryKind.CALL, call_id="vip")
    ahead_of_low = service.estimate_for(vip)
    assert ahead_of_low is not None and ahead_of_low.method is Method.QLM  # nobody overtakes the top
    assert ahead_of_low.seconds < later.seconds


async def test_admin_adds_an_agent_who_can_then_take_calls() -> None:
    from ivr.acd.config import AgentConfig

    service = make_service(with_prompts=False)
    waiter = service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id="c")
    await service.upsert_agent(AgentConfig("a9", "New", "sip:a9@127.0.0.1:5080", {"support": 1}))
    assert service.agent("a9").state is AgentState.OFFLINE and waiter.assignment is None
    service.set_agent_state("a9", AgentState.AVAILABLE)
    assert waiter.assignment is not None and waiter.assignment.endpoint == "sip:a9@127.0.0.1:5080"


def test_a_ringing_agent_device_busy_is_not_the_answer() -> None:
    # round3/dial-answer-hook-1b: PJSIP/1001 goes BUSY the moment it starts ringing and stays so
    # through the talk (no INUSE); the answer comes from Dial's answer hook, not the device.
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.AVAILABLE)
    waiter = service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id="c")
    service.device_state("PJSIP/agent1", "BUSY")
    assert service.agent("a1").state is AgentState.RINGING and waiter.assignment is not None
    service.answered(waiter, answered_at=service.clock())  # the hook
    assert service.agent("a1").state is AgentState.BUSY
    service.device_state("PJSIP/agent1", "NOT_INUSE")  # the bridge ended: the hold loop ends the contact
    assert service.agent("a1").state is AgentState.BUSY
