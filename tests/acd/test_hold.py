"""The hold loop on a scripted caller: connect, no-answer, abandon, keys 1/2, overflow, credit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from ivr.acd.config import Announcements, Overflow, QueueConfig
from ivr.acd.types import AgentState, EntryKind
from ivr.channel import DialStatus
from ivr.context import CallContext
from ivr.events.types import AgentConnected, AgentOffered, AgentStateChanged, QueueJoined, QueueLeft
from ivr.ports import CallbackSource, QueueOutcomeKind, QueueRequest
from tests.support.acd_fakes import RecordingCallbacks, RecordingDeflection, make_service, support_queue
from tests.support.scripted import AgentAnswers, AgentFails, HangUp, Press, ScriptedChannel, Silence, scripted_info

WAIT = 20.0  # generous: a loaded CI machine may be slow, a healthy run never waits this long


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll ``condition`` (the hold loop runs in another task) until it holds or ``timeout`` passes."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def request(channel: ScriptedChannel, queue: str = "support", **kw: object) -> QueueRequest:
    ctx = CallContext(info=channel.info, flow="support", language="es")
    return QueueRequest(queue=queue, context=ctx, **kw)  # type: ignore[arg-type]


def learn(service, queue: str = "support", handle: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2000):  # enough history to outweigh the prior of 180 s
        service.rates[queue].record_service(handle)


async def test_free_agent_connects_at_once_and_pops_the_context() -> None:
    service = make_service()
    sub = service.bus.subscribe()
    service.set_agent_state("a2", AgentState.AVAILABLE)
    channel = ScriptedChannel([AgentAnswers(talk_seconds=42, ring_seconds=2)])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "a2"
    assert ("connect", ("PJSIP/agent2",)) in [(e.op, e.detail) for e in channel.log]
    events = [e for e in iter(sub.get_nowait, None)]
    joined = next(e for e in events if isinstance(e, QueueJoined))
    assert joined.position == 1 and joined.ewt_seconds == 0.0
    ringing = next(e for e in events if isinstance(e, AgentOffered))
    assert ringing.agent_id == "a2" and ringing.context["caller"] == channel.info.caller
    popped = next(e for e in events if isinstance(e, AgentConnected))
    assert popped.context["call_id"] == channel.info.call_id and popped.context["queue"] == "support"
    left = next(e for e in events if isinstance(e, QueueLeft))
    assert left.outcome == "connected" and left.within_service_level is True
    assert service.agent("a2").state is AgentState.WRAP_UP
    assert [e.state for e in events if isinstance(e, AgentStateChanged) and e.agent_id == "a2"] == [
        "available", "ringing", "busy", "wrap_up"]
    assert not service.router.entries


async def test_no_agent_staffed_is_unavailable() -> None:
    service = make_service()
    channel = ScriptedChannel([])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.UNAVAILABLE
    unknown = await service.wait_in_queue(channel, request(channel, queue="nope"))
    assert unknown.kind is QueueOutcomeKind.UNAVAILABLE


async def test_hangup_while_waiting_is_an_abandon_handed_to_the_callback_policy() -> None:
    callbacks = RecordingCallbacks()
    service = make_service(callbacks=callbacks)
    service.set_agent_state("a1", AgentState.BUSY)
    first = service.join("support", arrival=service.clock() - timedelta(seconds=30), priority=0,
                         kind=EntryKind.CALL, call_id="first")
    assert first.position_at_join == 1
    channel = ScriptedChannel([HangUp()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.ABANDONED
    assert outcome.position_at_exit == 2
    assert "es/queue/position_is" in channel.played  # announced at entry
    (req,) = callbacks.requests
    assert req.source is CallbackSource.ABANDON and req.position == 2 and req.queue == "support"
    assert req.arrival_time is not None and req.context is not None
    assert list(service.router.entries) == [first.entry_id]


async def test_refused_abandon_callback_is_fine() -> None:
    service = make_service(callbacks=RecordingCallbacks(refuse=True))
    service.set_agent_state("a1", AgentState.BUSY)
    channel = ScriptedChannel([HangUp()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.ABANDONED


async def test_ring_no_answer_puts_agent_away_and_caller_back_at_head() -> None:
    service = make_service()
    service.set_agent_state("a1", AgentState.AVAILABLE)
    service.set_agent_state("a2", AgentState.AVAILABLE)
    channel = ScriptedChannel([AgentFails(DialStatus.NOANSWER), AgentAnswers()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.CONNECTED
    dialled = [e.detail[0] for e in channel.log if e.op == "connect"]
    assert dialled == ["PJSIP/agent1", "PJSIP/agent2"]  # a1 was idle longer
    assert service.agent("a1").state is AgentState.AWAY
    assert outcome.agent_id == "a2"


async def test_unreachable_agent_goes_offline() -> None:
    service = make_service()
    service.set_agent_state("a1", AgentState.AVAILABLE)
    channel = ScriptedChannel([AgentFails(DialStatus.CHANUNAVAIL, ring_seconds=0), HangUp()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert service.agent("a1").state is AgentState.OFFLINE
    # nobody is staffed any more: the caller is told so and taken to the queue's overflow (the flow)
    assert "es/queue/no_agents" in channel.played
    assert outcome.kind is QueueOutcomeKind.OVERFLOW
    assert not service.router.entries


async def test_last_agent_going_offline_tells_the_caller_at_once_and_offers_the_overflow() -> None:
    callbacks = RecordingCallbacks()
    service = make_service([support_queue(overflow=Overflow.parse("callback"))], callbacks=callbacks)
    service.set_agent_state("a1", AgentState.BUSY)
    # holding (a 30 s slice until the next announcement) when the only agent goes offline; "1" = yes, call me
    channel = ScriptedChannel([Silence(), Press("1")], hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.op == "hold" for e in channel.log))
    assert "es/queue/no_agents" not in channel.played
    loop = asyncio.get_running_loop()
    went_offline = loop.time()
    service.set_agent_state("a1", AgentState.OFFLINE)
    outcome = await asyncio.wait_for(task, WAIT)
    assert loop.time() - went_offline < 5.0  # woken, not at the next announcement 30 s later
    assert "es/queue/no_agents" in channel.played
    assert outcome.kind is QueueOutcomeKind.CALLBACK
    (req,) = callbacks.requests
    assert req.queue == "support" and req.arrival_time is not None  # the callback keeps the place


async def test_empty_overflow_queues_do_not_bounce_the_caller_forever() -> None:
    support = support_queue(overflow=Overflow.parse("queue:general"))
    general = QueueConfig(name="general", skills={}, overflow=Overflow.parse("queue:support"))
    service = make_service([support, general], with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    channel = ScriptedChannel([Silence(), Silence(), Silence()], hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.op == "hold" for e in channel.log))
    service.set_agent_state("a1", AgentState.OFFLINE)
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.kind is QueueOutcomeKind.UNAVAILABLE and not service.router.entries


async def test_a_big_change_in_the_estimate_is_announced_before_the_next_round() -> None:
    service = make_service([support_queue(announcements=Announcements(first_after=0.0, every=600.0))])
    service.set_agent_state("a1", AgentState.BUSY)
    service.set_agent_state("a2", AgentState.BUSY)
    for _ in range(3):
        service.join("support", arrival=service.clock(), priority=0, kind=EntryKind.CALL, call_id=None)
    channel = ScriptedChannel([Silence(), HangUp()], hold_real_time=True)  # a 600 s slice, then gone
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.op == "hold" for e in channel.log))
    announced = channel.played.count("es/queue/position_is")
    assert announced == 1
    service.set_agent_state("a2", AgentState.OFFLINE)  # half the staff: the wait doubles
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.kind is QueueOutcomeKind.ABANDONED
    assert channel.played.count("es/queue/position_is") == 2  # heard again at once, not 600 s later


async def test_key_1_schedules_a_callback_keeping_the_place() -> None:
    callbacks = RecordingCallbacks()
    service = make_service(callbacks=callbacks)
    service.set_agent_state("a1", AgentState.BUSY)
    learn(service)
    channel = ScriptedChannel([Press("1"), Press("1")])  # key 1 during the announcement, then "yes"
    req = request(channel, credit_seconds=40.0)
    outcome = await service.wait_in_queue(channel, req)
    assert outcome.kind is QueueOutcomeKind.CALLBACK
    assert "es/queue/offer_callback" in channel.played
    (cb,) = callbacks.requests
    assert cb.source is CallbackSource.QUEUE_KEY
    assert cb.arrival_time is not None
    assert 39.0 <= (service.clock() - cb.arrival_time).total_seconds() <= 45.0  # the original arrival
    assert not service.router.entries


async def test_keys_are_not_offered_below_the_thresholds() -> None:
    callbacks = RecordingCallbacks()
    service = make_service(callbacks=callbacks, deflection=RecordingDeflection())
    service.set_agent_state("a1", AgentState.BUSY)
    learn(service, handle=10.0)  # EWT 10 s: below both thresholds
    channel = ScriptedChannel([Silence(), HangUp()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert "es/queue/offer_callback" not in channel.played and "es/queue/offer_link" not in channel.played
    assert outcome.kind is QueueOutcomeKind.ABANDONED
    assert [r.source for r in callbacks.requests] == [CallbackSource.ABANDON]


async def test_key_2_sends_a_link_then_hanging_up_is_deflected() -> None:
    deflection = RecordingDeflection()
    callbacks = RecordingCallbacks()
    service = make_service(deflection=deflection, callbacks=callbacks)
    service.set_agent_state("a1", AgentState.BUSY)
    learn(service)
    channel = ScriptedChannel([Press("2"), Press("1"), HangUp()])  # key 2, consent yes, then leaves
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.DEFLECTED
    (sent,) = deflection.sent
    assert sent.reason == "queue_wait" and sent.consent.prompt_id == "queue/link_consent"
    assert "es/queue/keep_waiting" in channel.played
    assert callbacks.requests == []  # a deflected caller is not an abandon


async def test_key_2_then_keep_waiting_still_reaches_an_agent() -> None:
    deflection = RecordingDeflection()
    service = make_service(deflection=deflection)
    service.set_agent_state("a1", AgentState.BUSY)
    learn(service)
    # key 2, consent yes, "1" to keep waiting, then on hold until an agent is free
    channel = ScriptedChannel([Press("2"), Press("1"), Press("1"), Silence(), AgentAnswers()], hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.op == "hold" for e in channel.log))
    assert "es/queue/keep_waiting" in channel.played
    service.set_agent_state("a2", AgentState.AVAILABLE)
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "a2"


async def test_overflow_to_flow_at_max_wait() -> None:
    service = make_service([support_queue(max_wait_seconds=90.0)])
    service.set_agent_state("a1", AgentState.BUSY)
    channel = ScriptedChannel([Silence(), Silence(), Silence(), Silence(), Silence()])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.OVERFLOW
    assert abs(channel.hold_seconds - 90.0) < 0.5  # virtual hold slices up to the max wait
    assert not service.router.entries


async def test_overflow_to_another_queue_keeps_the_arrival() -> None:
    general = QueueConfig(name="general", skills={})
    support = support_queue(max_wait_seconds=0.2, overflow=Overflow.parse("queue:general"))
    service = make_service([support, general], with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    service.router.upsert_agent("g1", "PJSIP/general1", {}, at=service.clock())
    service.set_agent_state("g1", AgentState.BUSY)
    # 0.2 s of hold in support, then general; the general agent frees up while waiting there
    channel = ScriptedChannel([Silence(), Silence(), Silence(), AgentAnswers()], hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.queue == "general" for e in service.router.entries.values()))
    (entry,) = service.router.entries.values()
    service.set_agent_state("g1", AgentState.AVAILABLE)
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "g1"
    assert entry.arrival <= service.clock()


async def test_waiting_caller_is_woken_when_an_agent_frees_up() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    channel = ScriptedChannel([Silence(), AgentAnswers()], hold_real_time=True)
    task = asyncio.create_task(service.wait_in_queue(channel, request(channel)))
    await until(lambda: any(e.op == "hold" for e in channel.log))
    service.set_agent_state("a1", AgentState.AVAILABLE)
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "a1"


async def test_returning_caller_credit_puts_them_ahead() -> None:
    service = make_service(with_prompts=False)
    service.set_agent_state("a1", AgentState.BUSY)
    newer = ScriptedChannel([Silence()] * 3, call_info=scripted_info(call_id="newer"), hold_real_time=True)
    newer_task = asyncio.create_task(service.wait_in_queue(newer, request(newer)))
    await until(lambda: bool(service.router.entries))
    returning = ScriptedChannel([HangUp()], call_info=scripted_info(call_id="back"))
    left = service.bus.subscribe(accept=lambda e: isinstance(e, QueueLeft))
    outcome = await service.wait_in_queue(returning, request(returning, credit_seconds=300.0))
    assert outcome.kind is QueueOutcomeKind.ABANDONED and outcome.position_at_exit == 1
    assert outcome.waited_seconds >= 300.0  # the outcome carries the whole wait, credit included
    event = left.get_nowait()
    assert isinstance(event, QueueLeft) and event.waited_seconds < 5.0  # stats: this call's wait only
    newer_task.cancel()
    await asyncio.gather(newer_task, return_exceptions=True)
    assert not service.router.entries  # a cancelled hold loop leaves the line


class AgentLeg(ScriptedChannel):
    """A backend that reports the agent's answer mid-bridge, as the AGI answer hook does: it
    records what the ACD shows between the answer and the end of the bridge."""

    def __init__(self, service, ring: float, talk: float) -> None:  # type: ignore[no-untyped-def]
        super().__init__([])
        self.service = service
        self.ring, self.talk = ring, talk
        self.sub = service.bus.subscribe()
        self.seen: dict[str, object] = {}

    async def connect(self, endpoint, *, timeout, caller_id=None, on_answer=None,  # type: ignore[no-untyped-def]
                      announce=(), bridge=None):
        from ivr.channel import ConnectResult

        self.seen["before_ring"] = [e.op for e in self.log]
        self.seen["announce"] = [p.key for p in announce]
        self.seen["state_ringing"] = self.service.agent("a2").state
        assert on_answer is not None
        on_answer()  # the agent picked up; the bridge is still on
        self.seen["state_talking"] = self.service.agent("a2").state
        self.seen["connected_at_answer"] = any(isinstance(e, AgentConnected) for e in iter(self.sub.get_nowait, None))
        self.seen["entries"] = len(self.service.router.entries)
        return ConnectResult(DialStatus.ANSWER, ring_seconds=self.ring, talk_seconds=self.talk, hangup_cause=16)


async def test_the_agent_rings_at_once_and_is_busy_from_the_answer_to_the_end() -> None:
    service = make_service()
    service.set_agent_state("a2", AgentState.AVAILABLE)
    channel = AgentLeg(service, ring=0.5, talk=15.0)
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.CONNECTED
    seen = channel.seen
    before_ring = seen["before_ring"]
    assert isinstance(before_ring, list) and "play" not in before_ring  # no prompt while the agent is reserved and idle
    assert seen["announce"] == ["es/queue/connecting"]  # played while it rings, where the backend can
    assert seen["state_ringing"] is AgentState.RINGING
    assert seen["state_talking"] is AgentState.BUSY and seen["connected_at_answer"] is True
    assert seen["entries"] == 0  # the caller is served at the answer, not when the bridge ends
    assert service.agent("a2").state is AgentState.WRAP_UP
    # handle time learnt from the agent leg: talk + wrap-up (not the caller channel's span)
    wrap = service.queue_config("support").wrap_up_seconds
    rates = service.rates["support"]
    assert rates.services == 1
    assert rates._service.exposure == pytest.approx(15.0 + wrap)  # one contact: no decay yet


async def test_a_caller_gone_during_the_bridge_still_ends_the_contact() -> None:
    from ivr.channel import CallerHungUp

    service = make_service()
    service.set_agent_state("a2", AgentState.AVAILABLE)

    class Gone(ScriptedChannel):
        async def connect(self, endpoint, *, timeout, caller_id=None, on_answer=None,  # type: ignore[no-untyped-def]
                          announce=(), bridge=None):
            assert on_answer is not None
            on_answer()
            raise CallerHungUp("the AGI connection closed during the bridge")

    channel = Gone([])
    outcome = await service.wait_in_queue(channel, request(channel))
    assert outcome.kind is QueueOutcomeKind.CONNECTED and outcome.agent_id == "a2"
    assert service.agent("a2").state is AgentState.WRAP_UP  # not left busy forever
    assert not service.router.entries


async def test_a_channel_failing_after_the_answer_never_leaves_the_agent_busy() -> None:
    import pytest

    from ivr.channel import ChannelError

    service = make_service()
    service.set_agent_state("a2", AgentState.AVAILABLE)

    class Broken(ScriptedChannel):
        async def connect(self, endpoint, *, timeout, caller_id=None, on_answer=None,  # type: ignore[no-untyped-def]
                          announce=(), bridge=None):
            assert on_answer is not None
            on_answer()
            raise ChannelError("the AGI connection broke during the bridge")

    channel = Broken([])
    with pytest.raises(ChannelError):
        await service.wait_in_queue(channel, request(channel))
    assert service.agent("a2").state is AgentState.WRAP_UP and service.router.agents["a2"].contact is None
