"""The dispatcher with the fake originator and an ACD whose agent is free at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.origination.base import Leg, OriginateRequest
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.service import CallbackService
from callbacks.sessions import SessionRegistry
from callbacks.values import Callback
from ivr.callcontrol import LiveBridge
from ivr.channel import Channel, ChannelError, ConnectResult, DialStatus, PromptFile
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.events.types import AgentConnected, CallbackLifecycle
from ivr.ports import CallbackRequest, CallbackSource
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, CallbackSettings
from tests.support.callbacks_fakes import FakeOptOuts, InstantAcd, make_callbacks
from tests.support.fake_origination import FakeOriginator
from tests.support.scripted import AgentFails, ScriptedChannel, scripted_info

pytestmark = pytest.mark.timeout(60)
SETTINGS = CallbackSettings(poll_interval=0.02, lease_seconds=5.0, wait_slice_seconds=0.2)


def any_time(**changes: Any) -> QueuePolicy:
    """No quiet hours, retries at once: the tests do not depend on the time of day."""
    values: dict[str, Any] = {"quiet_hours": None, "retry_delays": (0.0,), **changes}
    return QueuePolicy(**values)

CATALOGUE = PromptCatalogue.load(Path(PROJECT_ROOT / "prompts"))


@dataclass
class Rig:
    service: CallbackService
    originator: FakeOriginator
    acd: InstantAcd
    bus: EventBus
    optouts: FakeOptOuts
    dispatcher: CallbackDispatcher

    async def request(self, number: str = "+34600111222", queue: str = "support") -> str:
        ticket = await self.service.request(CallbackRequest(number=number, queue=queue, source=CallbackSource.API,
                                                            waited_seconds=240, language="en"))
        return ticket.callback_id

    async def until(self, callback_id: str, check: Callable[[Callback], bool], timeout: float = 10.0) -> Callback:
        async with asyncio.timeout(timeout):
            while True:
                cb = await self.service.get(callback_id)
                if check(cb):
                    return cb
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(db: Database, policy: QueuePolicy, originator: FakeOriginator,
                  settings: CallbackSettings = SETTINGS) -> AsyncIterator[Rig]:
    bus, acd, optouts = EventBus(), InstantAcd(), FakeOptOuts()
    service = make_callbacks(db, policies={"support": policy}, acd=acd, optouts=optouts, settings=settings, bus=bus)
    deps = ScriptDeps(bus, prompts=CATALOGUE, acd=acd, default_language="en")
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd,
                                    sessions=SessionRegistry(), script=deps, settings=settings, owner="test")
    started = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(started))
    await started.wait()
    try:
        yield Rig(service, originator, acd, bus, optouts, dispatcher)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def channels(*scripts: list[object]) -> Callable[[OriginateRequest], Channel]:
    made: list[list[object]] = list(scripts)

    def factory(request: OriginateRequest) -> Channel:
        script = made.pop(0) if made else []
        return ScriptedChannel(script=script, call_info=scripted_info(caller=request.target))  # type: ignore[arg-type]

    return factory


async def test_agent_first_briefs_the_agent_then_dials_the_customer(sqlite_db: Database) -> None:
    answered: list[ScriptedChannel] = []

    def factory(request: OriginateRequest) -> Channel:
        channel = ScriptedChannel(call_info=scripted_info(caller=request.target))
        answered.append(channel)
        return channel

    async with running(sqlite_db, any_time(), FakeOriginator(channel_factory=factory)) as rig:
        pops = rig.bus.subscribe(accept=lambda e: isinstance(e, AgentConnected))
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.COMPLETED)
    assert cb.attempts == 1 and [a.outcome for a in cb.history] == [AttemptOutcome.ANSWERED]
    (dial,) = rig.originator.dials
    assert dial.leg is Leg.AGENT and dial.target == "PJSIP/agent1" and dial.caller_id == "+34910000000"
    agent = answered[0]
    assert agent.played[:3] == ["en/callbacks/agent_intro", "en/callbacks/for_queue/support",
                                "en/callbacks/agent_waited"]
    assert agent.played[-1] == "en/callbacks/agent_connecting"
    assert [e.detail for e in agent.log if e.op == "connect"] == [("PJSIP/+34600111222@trunk",)]
    assert rig.acd.entries[0].callback_id == callback_id
    assert [r.status for _, r in rig.acd.finished] == [DialStatus.ANSWER]
    pop = pops.get_nowait()
    assert isinstance(pop, AgentConnected) and pop.context["callback_id"] == callback_id


async def test_busy_then_answered_and_every_attempt_kept(sqlite_db: Database) -> None:
    factory = channels([AgentFails(DialStatus.BUSY)], [AgentFails(DialStatus.NOANSWER)], [])
    policy = any_time(max_attempts=3)
    async with running(sqlite_db, policy, FakeOriginator(channel_factory=factory)) as rig:
        events = rig.bus.subscribe(accept=lambda e: isinstance(e, CallbackLifecycle))
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.COMPLETED)
    assert [a.outcome for a in cb.history] == [AttemptOutcome.BUSY, AttemptOutcome.NO_ANSWER, AttemptOutcome.ANSWERED]
    assert cb.attempts == 3 and all(a.ended_at is not None for a in cb.history)
    outcomes = []
    while (event := events.get_nowait()) is not None:
        assert isinstance(event, CallbackLifecycle)
        outcomes.append((event.state, event.outcome))
    assert ("scheduled", "busy") in outcomes and outcomes[-1] == ("completed", "answered")


async def test_attempts_run_out(sqlite_db: Database) -> None:
    factory = channels([AgentFails(DialStatus.NOANSWER)], [AgentFails(DialStatus.NOANSWER)])
    policy = any_time(max_attempts=2)
    async with running(sqlite_db, policy, FakeOriginator(channel_factory=factory)) as rig:
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.FAILED)
    assert cb.attempts == 2 and "after 2 attempts" in (cb.reason or "")


async def test_an_agent_who_does_not_answer_costs_the_customer_nothing(sqlite_db: Database) -> None:
    originator = FakeOriginator(outcomes=[AttemptOutcome.NO_ANSWER])
    async with running(sqlite_db, any_time(), originator) as rig:
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.SCHEDULED and len(c.history) == 1)
        assert rig.acd.finished[0][1].status is DialStatus.NOANSWER  # the ACD marks the agent away
    assert cb.attempts == 0 and not cb.history[0].counted and cb.history[0].outcome is AttemptOutcome.FAILED


async def test_customer_first_joins_the_queue_with_top_priority(sqlite_db: Database) -> None:
    policy = any_time(mode=CallbackMode.CUSTOMER_FIRST, customer_priority=50)
    answered: list[ScriptedChannel] = []

    def factory(request: OriginateRequest) -> Channel:
        answered.append(ScriptedChannel(call_info=scripted_info(caller=request.target)))
        return answered[-1]

    async with running(sqlite_db, policy, FakeOriginator(channel_factory=factory)) as rig:
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.COMPLETED)
    (dial,) = rig.originator.dials
    assert dial.leg is Leg.CUSTOMER and dial.target == "+34600111222"
    assert answered[0].played == ["en/callbacks/customer_intro"]
    (queued,) = rig.acd.queued
    assert queued.priority == 50 and queued.queue == "support" and queued.context.info.caller == "+34600111222"
    assert [r.status for _, r in rig.acd.finished] == [DialStatus.CANCEL]  # the reserved agent was released
    assert cb.history[0].outcome is AttemptOutcome.ANSWERED


async def test_opt_out_checked_again_at_dial_time(sqlite_db: Database) -> None:
    async with running(sqlite_db, any_time(), FakeOriginator()) as rig:
        rig.acd.free.clear()  # nobody free yet: the callback waits in line
        callback_id = await rig.request()
        async with asyncio.timeout(5):
            while not rig.acd.entries:
                await asyncio.sleep(0.01)
        rig.optouts.numbers.add("+34600111222")  # opts out meanwhile (e.g. STOP by SMS)
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.CANCELLED)
    assert rig.originator.dials == [] and [a.outcome for a in cb.history] == [AttemptOutcome.REFUSED]


async def test_a_callback_keeps_its_place_and_is_not_dialled_in_quiet_hours(sqlite_db: Database) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from ivr.contact import QuietHours

    # Quiet from 3 h before to 3 h after now in Madrid (covers the Canaries' hour too): whatever the
    # time of the run, the customer's local time is inside quiet hours.
    madrid = datetime.now(ZoneInfo("Europe/Madrid"))
    quiet = QuietHours((madrid - timedelta(hours=3)).time().replace(microsecond=0),
                       (madrid + timedelta(hours=3)).time().replace(microsecond=0))
    policy = QueuePolicy(quiet_hours=quiet)
    async with running(sqlite_db, policy, FakeOriginator()) as rig:
        svc = rig.service
        callback_id = await rig.request()
        cb = await svc.get(callback_id)
        assert cb.due_at > datetime.now(UTC)  # deferred at request time already
        await svc.store.reschedule(callback_id, at=datetime.now(UTC), now=datetime.now(UTC))  # forced due now
        cb = await rig.until(callback_id, lambda c: c.reason == "outside calling hours")
    assert rig.originator.dials == [] and cb.state is CallbackState.SCHEDULED and cb.due_at > datetime.now(UTC)
    assert rig.acd.entries == []  # never entered the line while it may not be dialled


async def test_a_call_longer_than_the_lease_keeps_it(sqlite_db: Database) -> None:
    """The heartbeat renews the lease while a dial lasts: a second dispatcher finds nothing to take."""
    gate = asyncio.Event()
    short = SETTINGS.model_copy(update={"lease_seconds": 1.0})
    async with running(sqlite_db, any_time(), FakeOriginator(gate=gate), settings=short) as rig:
        callback_id = await rig.request()
        async with asyncio.timeout(5):
            await rig.originator.dialing.wait()
        for _ in range(3):  # well past the lease: still ours
            await asyncio.sleep(0.6)
            cb = await rig.service.get(callback_id)
            assert cb.lease_owner == "test" and cb.state is CallbackState.DIALING
            assert await rig.service.store.claim("other", now=utcnow(), lease_seconds=1, limit=5) == []
        gate.set()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.COMPLETED)
    assert len(rig.originator.dials) == 1 and len(cb.history) == 1


async def test_cancelled_while_waiting_for_an_agent_leaves_the_line(sqlite_db: Database) -> None:
    short = SETTINGS.model_copy(update={"lease_seconds": 0.3, "wait_slice_seconds": 0.1})
    async with running(sqlite_db, any_time(), FakeOriginator(), settings=short) as rig:
        rig.acd.free.clear()
        callback_id = await rig.request()
        async with asyncio.timeout(5):
            while not rig.acd.entries:
                await asyncio.sleep(0.01)
        await rig.service.cancel(callback_id)
        async with asyncio.timeout(5):  # the heartbeat notices; the dispatcher stops re-entering the line
            while rig.dispatcher.working(callback_id):
                await asyncio.sleep(0.02)
    assert rig.originator.dials == []
    assert (await rig.service.get(callback_id)).state is CallbackState.CANCELLED


@dataclass
class BrokenTrunk(ScriptedChannel):
    async def connect(self, endpoint: str, *, timeout: float, caller_id: str | None = None,
                      on_answer: Callable[[], None] | None = None,
                      announce: Sequence[PromptFile] = (), bridge: LiveBridge | None = None) -> ConnectResult:
        raise ChannelError("no route to the trunk")


async def test_a_broken_customer_leg_counts_and_runs_out(sqlite_db: Database) -> None:
    policy = any_time(max_attempts=2)
    async with running(sqlite_db, policy, FakeOriginator(channel_factory=lambda r: BrokenTrunk())) as rig:
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.FAILED)
    assert [(a.outcome, a.counted) for a in cb.history] == [(AttemptOutcome.FAILED, True)] * 2
    assert "no route" in (cb.history[0].detail or "") and len(rig.originator.dials) == 2


async def test_an_agi_that_never_comes_does_not_hold_the_agent(sqlite_db: Database) -> None:
    quick = SETTINGS.model_copy(update={"script_pickup_seconds": 0.2})
    async with running(sqlite_db, any_time(max_attempts=1), FakeOriginator(remote=True), settings=quick) as rig:
        callback_id = await rig.request()
        cb = await rig.until(callback_id, lambda c: c.state is CallbackState.FAILED)
    assert "never started" in (cb.history[0].detail or "")
    assert [r.status for _, r in rig.acd.finished] == [DialStatus.CANCEL]  # the agent is free again


async def test_callback_calls_are_recorded_like_inbound_calls() -> None:
    """The customer-first script records the call (flow "callback", the customer's number) and its
    disposition from the queue outcome, so `ivr calls list` shows callbacks too."""
    from callbacks.ivr_handler import ScriptDeps, run_call
    from callbacks.policy import CallbackMode
    from callbacks.sessions import CallbackCall
    from ivr.events import EventBus
    from ivr.ports import Disposition, QueueOutcome, QueueOutcomeKind
    from tests.support.fakes import FakeRecorder
    from tests.support.scripted import AgentAnswers, ScriptedChannel, scripted_info

    recorder = FakeRecorder()

    class OneAgentAcd:
        async def finish_assignment(self, *_: object) -> None:
            return None

        async def wait_in_queue(self, channel: object, request: object) -> QueueOutcome:
            return QueueOutcome(QueueOutcomeKind.CONNECTED, waited_seconds=0.0, agent_id="agent1")

    from callbacks.models import CallbackState
    from callbacks.policy import QueuePolicy
    from callbacks.values import Callback
    from ivr.db import utcnow
    from ivr.ports import CallbackSource

    deps = ScriptDeps(EventBus(), prompts=None, acd=OneAgentAcd(), recorder=recorder)
    now = utcnow()
    cb = Callback(id="cb1", number="+34600111222", queue="billing", source=CallbackSource.ABANDON,
                  state=CallbackState.DIALING, arrival_time=now, due_at=now, created_at=now, updated_at=now,
                  attempts=1, max_attempts=3, language="es", waited_seconds=40.0, position=2, context=None,
                  merged=0, lease_owner="d1", leased_until=now, last_outcome=None, reason=None)
    call = CallbackCall(callback=cb, attempt=1, mode=CallbackMode.CUSTOMER_FIRST, policy=QueuePolicy(),
                        customer_target="", caller_id="+34910000000", assignment=None)
    channel = ScriptedChannel([AgentAnswers()], call_info=scripted_info(call_id="cb-leg-1", caller="unknown"))
    outcome = await run_call(channel, call, deps)
    assert outcome.disposition is Disposition.CONNECTED
    assert recorder.started[0][0].caller == "+34600111222" and recorder.started[0][1] == "callback"
    assert recorder.ended == {"cb-leg-1": Disposition.CONNECTED}
