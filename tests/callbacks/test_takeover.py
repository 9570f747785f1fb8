"""Taking over an attempt from a dead dispatcher: the decision (pure), the dispatcher acting on it
(SQLite, one process: the attempt is recorded before the dial there too), and the probes that ask
the origination side (AMI ``Status`` over a real socket, the built-in SIP endpoint)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps
from callbacks.models import AttemptOutcome, CallbackAttemptRow, CallbackRow, CallbackState
from callbacks.origination.ami import AmiOriginator, probe_of_status
from callbacks.origination.sip import SipOriginator
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.service import CallbackService
from callbacks.sessions import SessionRegistry
from callbacks.store import CallbackStore
from callbacks.takeover import Action, Probe, ProbeState, from_closed, from_probe, from_record
from callbacks.values import Callback, NewCallback
from ivr.ami.client import AmiClient
from ivr.ami.events import AmiMessage
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.ports import CallbackSource
from ivr.settings import AmiSettings, CallbackSettings
from tests.support.ami_server import Block, FakeAmiServer, load_capture, responses_to
from tests.support.callbacks_fakes import InstantAcd, make_callbacks
from tests.support.fake_origination import FakeOriginator

pytestmark = pytest.mark.timeout(60)

CUSTOMER, AGENT = CallbackMode.CUSTOMER_FIRST, CallbackMode.AGENT_FIRST
NOW = utcnow()
LONG = timedelta(hours=5)


# ---------------------------------------------------------------------- the decision
@pytest.mark.parametrize("leg, mode, action, outcome, counted", [
    (AttemptOutcome.ANSWERED, CUSTOMER, Action.RECORD, AttemptOutcome.ANSWERED, True),
    (AttemptOutcome.BUSY, CUSTOMER, Action.RECORD, AttemptOutcome.BUSY, True),
    (AttemptOutcome.FAILED, CUSTOMER, Action.RECORD, AttemptOutcome.FAILED, True),
    (AttemptOutcome.NO_ANSWER, AGENT, Action.RECORD, AttemptOutcome.FAILED, False),  # the customer never rung
])
def test_a_recorded_answer_settles_it(leg: AttemptOutcome, mode: CallbackMode, action: Action,
                                      outcome: AttemptOutcome, counted: bool) -> None:
    decision = from_record(leg, mode)
    assert decision is not None
    assert (decision.action, decision.outcome, decision.counted) == (action, outcome, counted)


def test_unknown_or_agent_answered_must_be_asked() -> None:
    assert from_record(None, CUSTOMER) is None
    assert from_record(AttemptOutcome.ANSWERED, AGENT) is None  # whether the customer was dialled: unknown


@pytest.mark.parametrize("probe, mode, action, outcome", [
    (Probe(ProbeState.NEVER), CUSTOMER, Action.REDIAL, AttemptOutcome.FAILED),
    (Probe(ProbeState.NEVER), AGENT, Action.REDIAL, AttemptOutcome.FAILED),
    (Probe(ProbeState.LIVE), CUSTOMER, Action.WAIT, None),
    (Probe(ProbeState.UNREACHABLE), CUSTOMER, Action.WAIT, None),
    (Probe(ProbeState.ENDED, AttemptOutcome.ANSWERED), CUSTOMER, Action.RECORD, AttemptOutcome.ANSWERED),
    (Probe(ProbeState.ENDED, AttemptOutcome.NO_ANSWER), CUSTOMER, Action.RECORD, AttemptOutcome.NO_ANSWER),
    (Probe(ProbeState.ENDED, AttemptOutcome.BUSY), AGENT, Action.RECORD, AttemptOutcome.FAILED),
    (Probe(ProbeState.ENDED, AttemptOutcome.ANSWERED), AGENT, Action.REVIEW, None),
    (Probe(ProbeState.GONE), CUSTOMER, Action.REVIEW, None),
    (Probe(ProbeState.GONE), AGENT, Action.REVIEW, None),
])
def test_what_the_origination_side_says(probe: Probe, mode: CallbackMode, action: Action,
                                        outcome: AttemptOutcome | None) -> None:
    decision = from_probe(probe, mode, started_at=NOW, now=NOW + timedelta(seconds=30), give_up_after=LONG,
                          never_after=timedelta(seconds=10))
    assert (decision.action, decision.outcome) == (action, outcome)
    assert decision.detail.startswith("taken over")


def test_a_call_live_for_too_long_goes_to_a_person() -> None:
    for state in (ProbeState.LIVE, ProbeState.UNREACHABLE):
        decision = from_probe(Probe(state), CUSTOMER, started_at=NOW, now=NOW + LONG + timedelta(seconds=1),
                              give_up_after=LONG, never_after=timedelta(seconds=10))
        assert decision.action is Action.REVIEW


def test_never_received_is_trusted_only_once_an_originate_could_have_arrived() -> None:
    """A dispatcher alive but late with its heartbeat may have its Originate still on the way."""
    recent = from_probe(Probe(ProbeState.NEVER), CUSTOMER, started_at=NOW, now=NOW + timedelta(seconds=3),
                        give_up_after=LONG, never_after=timedelta(seconds=10))
    assert recent.action is Action.WAIT
    later = from_probe(Probe(ProbeState.NEVER), CUSTOMER, started_at=NOW, now=NOW + timedelta(seconds=11),
                       give_up_after=LONG, never_after=timedelta(seconds=10))
    assert later.action is Action.REDIAL


def test_an_attempt_closed_by_a_dispatcher_that_lost_its_lease_is_what_happened() -> None:
    assert from_closed(None, True) is None
    decision = from_closed(AttemptOutcome.ANSWERED, True)
    assert decision is not None and (decision.action, decision.outcome) == (Action.RECORD, AttemptOutcome.ANSWERED)


# ---------------------------------------------------------------------- the dispatcher acting on it
SETTINGS = CallbackSettings(poll_interval=0.02, lease_seconds=0.5, wait_slice_seconds=0.2)
ANY_TIME = QueuePolicy(quiet_hours=None, retry_delays=(0.0,), mode=CUSTOMER)


async def dead_attempt(store: CallbackStore, *, leg: AttemptOutcome | None = None) -> str:
    """A callback a dispatcher 'dead' claimed and started dialling (committed), then died: its lease is out."""
    long_ago = utcnow() - timedelta(minutes=5)
    cb, _ = await store.create_or_merge(NewCallback(
        number="+34600111222", queue="support", source=CallbackSource.API, arrival_time=long_ago,
        due_at=long_ago, max_attempts=3), now=long_ago)
    await store.claim("dead", now=long_ago, lease_seconds=10, limit=1)
    seq = await store.start_attempt(cb.id, "dead", mode=CUSTOMER.value, target=cb.number, agent_id=None,
                                    now=long_ago)
    assert seq == 1
    if leg is not None:
        await store.record_leg(cb.id, 1, leg, channel=None, now=long_ago)
    return cb.id


@contextlib.asynccontextmanager
async def survivor(db: Database, originator: FakeOriginator,
                   policy: QueuePolicy = ANY_TIME) -> AsyncIterator[CallbackService]:
    bus, acd = EventBus(), InstantAcd()
    service = make_callbacks(db, policies={"support": policy}, acd=acd, settings=SETTINGS, bus=bus)
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd,
                                    sessions=SessionRegistry(), script=ScriptDeps(bus, None, acd),
                                    settings=SETTINGS, owner="alive")
    started = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(started))
    await started.wait()
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(service: CallbackService, callback_id: str, state: CallbackState) -> Callback:
    async with asyncio.timeout(10):
        while True:
            cb = await service.get(callback_id)
            if cb.state is state:
                return cb
            await asyncio.sleep(0.02)


async def test_answered_before_the_crash_is_not_dialled_again(sqlite_db: Database) -> None:
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store)
    originator = FakeOriginator(probe_answer=Probe(ProbeState.ENDED, AttemptOutcome.ANSWERED))
    async with survivor(sqlite_db, originator) as service:
        cb = await settled(service, callback_id, CallbackState.COMPLETED)
    assert originator.dials == []
    assert [(a.outcome, a.dispatcher, a.counted) for a in cb.history] == [(AttemptOutcome.ANSWERED, "dead", True)]
    assert cb.attempts == 1


async def test_a_recorded_leg_is_used_without_asking(sqlite_db: Database) -> None:
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store, leg=AttemptOutcome.ANSWERED)
    originator = FakeOriginator(probe_answer=Probe(ProbeState.GONE))  # asking would hold it for a person
    async with survivor(sqlite_db, originator) as service:
        cb = await settled(service, callback_id, CallbackState.COMPLETED)
    assert originator.dials == [] and cb.history[0].outcome is AttemptOutcome.ANSWERED


async def test_a_call_that_never_left_is_dialled_once(sqlite_db: Database) -> None:
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store)
    originator = FakeOriginator()  # it never received attempt 1: its probe says "never"
    async with survivor(sqlite_db, originator) as service:
        cb = await settled(service, callback_id, CallbackState.COMPLETED)
    assert [(d.callback_id, d.attempt) for d in originator.dials] == [(callback_id, 2)]
    assert [(a.outcome, a.dispatcher, a.counted) for a in cb.history] == [
        (AttemptOutcome.FAILED, "dead", False), (AttemptOutcome.ANSWERED, "alive", True)]
    assert cb.history[0].detail == "taken over: the first call never left"


async def test_cannot_tell_is_held_for_a_person(sqlite_db: Database) -> None:
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store)
    originator = FakeOriginator(probe_answer=Probe(ProbeState.GONE, detail="no live channel carries it"))
    async with survivor(sqlite_db, originator) as service:
        cb = await settled(service, callback_id, CallbackState.NEEDS_REVIEW)
        assert [c.id for c in await service.find(state=CallbackState.NEEDS_REVIEW)] == [callback_id]
    assert originator.dials == []
    assert [(a.outcome, a.counted) for a in cb.history] == [(AttemptOutcome.UNKNOWN, False)]
    assert "no live channel" in (cb.reason or "")


async def test_a_live_call_is_waited_for_then_settled(sqlite_db: Database) -> None:
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store)
    originator = FakeOriginator(probe_answer=Probe(ProbeState.LIVE))
    async with survivor(sqlite_db, originator) as service:
        async with asyncio.timeout(10):  # asked at least twice while it rings, the attempt left open
            while len(originator.probes) < 2:
                await asyncio.sleep(0.02)
        cb = await service.get(callback_id)
        assert cb.state is CallbackState.DIALING and cb.history[0].ended_at is None
        originator.probe_answer = Probe(ProbeState.ENDED, AttemptOutcome.NO_ANSWER)  # it rang out
        cb = await settled(service, callback_id, CallbackState.COMPLETED)  # retried by the policy: answered
    assert [d.attempt for d in originator.dials] == [2]
    assert [a.outcome for a in cb.history] == [AttemptOutcome.NO_ANSWER, AttemptOutcome.ANSWERED]


# ---------------------------------------------------------------------- probes
def status_with(blocks: list[Block], variables: list[str]) -> list[Block]:
    """The captured ``Status`` answer with ``Variable:`` lines as Asterisk adds them when asked
    (``Variables: CALLBACK_ID,CALLBACK_TRY``)."""
    extra = "".join(f"\nVariable: {v}" for v in variables)
    return [dataclasses.replace(b, text=b.text + extra) if b.header("Event") == "Status" else b for b in blocks]


@pytest.mark.parametrize("variables, state", [
    (["CALLBACK_ID=cb42", "CALLBACK_TRY=1"], ProbeState.LIVE),
    (["CALLBACK_ID=cb42", "CALLBACK_TRY=2"], ProbeState.GONE),  # another attempt's channel
    ([], ProbeState.GONE),
])
async def test_ami_probe_over_a_socket(asterisk_captures: Path, variables: list[str], state: ProbeState) -> None:
    blocks = load_capture(asterisk_captures / "ami-events-ivr-call.txt")
    login = responses_to(blocks, "Login")
    server = FakeAmiServer(login=login[:1], after_login=login[1:],
                           answers={"status": status_with(responses_to(blocks, "Status"), variables)})
    await server.start()
    try:
        client = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=server.port, username="labadmin",
                                       secret="labsecret"), initial_delay=0.02)
        originator = AmiOriginator(client, context="callback-agi", customer_channel="Local/{number}@out",
                                   customer_dial="PJSIP/{number}@trunk")
        async with client:
            await client.wait_connected(5)
            probe = await originator.probe("cb42", 1)
    finally:
        await server.stop()
    assert probe.state is state
    sent = next(m for m in server.received if m.get("action") == "Status")
    assert sent["variables"] == "CALLBACK_ID,CALLBACK_TRY"
    if state is ProbeState.LIVE:
        assert "PJSIP/sipp-00000001" in probe.detail


def test_status_forms_and_errors() -> None:
    chanvar = AmiMessage.of([("Event", "Status"), ("Channel", "Local/x;2"), ("ChanVariable(CALLBACK_ID)", "cb9"),
                             ("ChanVariable(CALLBACK_TRY)", "3")])
    assert probe_of_status([chanvar], "cb9", 3).state is ProbeState.LIVE
    refused = AmiMessage.of([("Response", "Error"), ("Message", "Permission denied")])
    assert probe_of_status([refused], "cb9", 3).state is ProbeState.UNREACHABLE


async def test_probe_without_the_peer() -> None:
    client = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=1))
    ami = AmiOriginator(client, context="c", customer_channel="x", customer_dial="y")
    assert (await ami.probe("cb", 1)).state is ProbeState.UNREACHABLE  # not connected: ask again later
    assert (await AmiOriginator(None, context="c", customer_channel="x",
                                customer_dial="y").probe("cb", 1)).state is ProbeState.UNREACHABLE
    sip = SipOriginator(None, customer_uri="sip:{number}@gw")
    assert (await sip.probe("cb", 1)).state is ProbeState.GONE  # its dialogs died with its process


async def test_an_attempt_recorded_by_a_slow_dispatcher_is_not_dialled_again(sqlite_db: Database) -> None:
    """Alive but late: its lease ran out, yet it recorded the outcome (the callback row stayed
    dialing, since it no longer owned it). The taker records that outcome and asks nobody."""
    store = CallbackStore(sqlite_db)
    callback_id = await dead_attempt(store)
    async with sqlite_db.session() as s:
        await s.execute(update(CallbackAttemptRow).where(CallbackAttemptRow.callback_id == callback_id)
                        .values(ended_at=utcnow(), outcome=AttemptOutcome.ANSWERED.value))
    originator = FakeOriginator(probe_answer=Probe(ProbeState.NEVER))  # asking would redial
    async with survivor(sqlite_db, originator) as service:
        cb = await settled(service, callback_id, CallbackState.COMPLETED)
    assert originator.dials == [] and originator.probes == []
    assert [(a.outcome, a.dispatcher) for a in cb.history] == [(AttemptOutcome.ANSWERED, "dead")]


async def test_our_own_lease_running_out_mid_dial_does_not_start_a_second_worker(sqlite_db: Database) -> None:
    """The heartbeat is late (a loaded machine): the claim takes our own callback back. The task
    already dialling it goes on alone; the callback is dialled once."""
    store = CallbackStore(sqlite_db)
    long_ago = utcnow() - timedelta(minutes=5)
    cb, _ = await store.create_or_merge(NewCallback(
        number="+34600111222", queue="support", source=CallbackSource.API, arrival_time=long_ago,
        due_at=long_ago, max_attempts=3), now=long_ago)
    gate = asyncio.Event()
    originator = FakeOriginator(gate=gate)
    async with survivor(sqlite_db, originator) as service:
        async with asyncio.timeout(10):
            await originator.dialing.wait()
        async with sqlite_db.session() as s:  # the lease runs out under our feet
            await s.execute(update(CallbackRow).where(CallbackRow.id == cb.id)
                            .values(leased_until=utcnow() - timedelta(seconds=1)))
        async with asyncio.timeout(10):  # the claim loop takes it back (lease renewed), nobody probes
            while (await service.get(cb.id)).leased_until < utcnow():  # type: ignore[operator]
                await asyncio.sleep(0.02)
        assert originator.probes == []
        gate.set()
        done = await settled(service, cb.id, CallbackState.COMPLETED)
    assert len(originator.dials) == 1 and len(done.history) == 1
