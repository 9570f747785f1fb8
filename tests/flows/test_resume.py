"""A later leg of a call (the dialplan sent it on from a dead node): straight back into its queue
at its place, skipping the menu; the earlier leg's path, inputs, language and need carry on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ivr.channel import InputMode
from ivr.channels.scripted import ScriptedChannel, scripted_info
from ivr.context import InputRecord
from ivr.ports import CallEventKind, EarlierLegs, HeldPlace, LegHistory, PlaceKeeper
from tests.flows.test_engine import engine_for, flow_of, recorder
from tests.support.fakes import FakeQueues, FakeRecorder, fake_services

MENU = flow_of({"menu": {"kind": "menu", "prompts": ["menu"], "options": {"1": {"next": "q"}}, "agent": "q",
                         "fallback": "q"},
                "q": {"kind": "queue", "queue": "billing"}})


@dataclass
class KeepingQueues(FakeQueues):
    place: HeldPlace | None = None
    asked: list[str] = field(default_factory=list)

    async def held_place(self, call_id: str) -> HeldPlace | None:
        self.asked.append(call_id)
        return self.place


@dataclass
class LegRecorder(FakeRecorder):
    earlier: EarlierLegs | None = None

    async def earlier_legs(self, call_id: str) -> EarlierLegs | None:
        return self.earlier


def later_leg(queue: str | None = "billing") -> ScriptedChannel:
    info = dataclasses.replace(scripted_info(call_id="1795.7"), resumed_from="1795.7", resumed_queue=queue)
    return ScriptedChannel([], call_info=info)


def resume_events(rec: FakeRecorder) -> list[dict[str, object]]:
    return [e.data for e in rec.of_kind(CallEventKind.NODE_ENTERED) if e.node == "resume"]


async def test_a_caller_with_a_held_place_skips_the_menu_and_keeps_arrival_and_priority() -> None:
    arrival = datetime.now(UTC) - timedelta(seconds=90)
    queues = KeepingQueues(place=HeldPlace("billing", arrival, 2, live=False))
    assert isinstance(queues, PlaceKeeper)
    engine = engine_for(MENU, services=fake_services(queues=queues))
    channel = later_leg()
    await engine.run(channel)
    assert "es/menu" not in channel.played  # the menu is not heard again
    assert queues.asked == ["1795.7"]
    [request] = queues.requests
    assert (request.queue, request.priority) == ("billing", 2)
    assert 89 <= request.credit_seconds <= 95  # rejoins at its original arrival
    assert resume_events(recorder(engine)) == [{"kind": "resume", "queue": "billing", "priority": 2,
                                                "arrival": arrival.isoformat(), "place": "kept"}]


async def test_a_caller_whose_place_is_gone_goes_into_the_queue_they_chose() -> None:
    queues = KeepingQueues()
    engine = engine_for(MENU, services=fake_services(queues=queues))
    channel = later_leg("billing")
    await engine.run(channel)
    assert "es/menu" not in channel.played
    assert [(r.queue, r.credit_seconds) for r in queues.requests] == [("billing", 0.0)]
    assert resume_events(recorder(engine))[0]["place"] == "lost"


async def test_a_caller_who_had_not_chosen_a_queue_hears_the_menu_again() -> None:
    queues = KeepingQueues()
    engine = engine_for(MENU, services=fake_services(queues=queues))
    channel = later_leg("general")  # the default PUENTE_QUEUE: nothing was chosen
    await engine.run(channel)
    assert "es/menu" in channel.played
    assert resume_events(recorder(engine)) == [{"kind": "resume", "place": "menu"}]


async def test_a_first_leg_never_asks_for_a_place() -> None:
    queues = KeepingQueues()
    engine = engine_for(MENU, services=fake_services(queues=queues))
    await engine.run(ScriptedChannel([], call_info=scripted_info(call_id="1795.7")))
    assert queues.asked == [] and resume_events(recorder(engine)) == []


async def test_what_the_caller_told_the_dead_node_reaches_the_agent() -> None:
    arrival = datetime.now(UTC) - timedelta(seconds=30)
    queues = KeepingQueues(place=HeldPlace("billing", arrival, 0, live=True))
    earlier = EarlierLegs(path=("menu", "q"), inputs=(InputRecord("menu", InputMode.DTMF, digits="1"),),
                          language="en", need="invoice")
    rec = LegRecorder(earlier=earlier)
    assert isinstance(rec, LegHistory)
    engine = engine_for(MENU, services=fake_services(queues=queues, recorder=rec))
    channel = later_leg()
    await engine.run(channel)
    [request] = queues.requests
    ctx = request.context
    assert ctx.path[:3] == ["menu", "q", "resume"]
    assert [i.digits for i in ctx.inputs] == ["1"]
    assert ctx.language == "en" and ctx.variables["need"] == "invoice" and ctx.need_known
