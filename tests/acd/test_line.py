"""The in-memory shared line (one node) is today's router behind the port: same offers, owners kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.acd.line import LineAgent, MemoryLine, NewEntry
from ivr.acd.types import AgentState, EntryKind, UnknownQueue

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _line() -> MemoryLine:
    line = MemoryLine()
    await line.configure({"support": {"support": 1}}, [LineAgent("a1", "PJSIP/a1", {"support": 1}),
                                                       LineAgent("a2", "PJSIP/a2", {"support": 2})], at=T0)
    return line


async def test_offers_go_to_the_entry_owner_in_priority_then_arrival_order() -> None:
    line = await _line()
    await line.join(NewEntry("late", "support", T0 + timedelta(seconds=5), "n1:x"), at=T0)
    await line.join(NewEntry("early", "support", T0, "n2:x"), at=T0)
    await line.join(NewEntry("vip", "support", T0 + timedelta(seconds=9), "n3:x", priority=1), at=T0)
    first = await line.set_state("a1", AgentState.AVAILABLE, at=T0 + timedelta(seconds=10))
    assert [(o.assignment.entry_id, o.assignment.agent_id, o.owner) for o in first.offers] == [("vip", "a1", "n3:x")]
    assert [c.state for c in first.changes] == [AgentState.AVAILABLE, AgentState.RINGING]
    second = await line.set_state("a2", AgentState.AVAILABLE, at=T0 + timedelta(seconds=11))
    assert [(o.assignment.entry_id, o.owner) for o in second.offers] == [("early", "n2:x")]
    snap = await line.snapshot()
    assert [e.entry_id for e in snap.entries] == ["vip", "early", "late"]
    assert snap.position("late") == 3


async def test_a_callback_keeps_its_callers_place() -> None:
    line = await _line()
    await line.join(NewEntry("caller", "support", T0 + timedelta(seconds=30), "n1:x"), at=T0)
    await line.join(NewEntry("callback:7", "support", T0, "n2:x", kind=EntryKind.CALLBACK), at=T0)
    snap = await line.snapshot()
    assert snap.position("callback:7") == 1 and snap.position("caller") == 2


async def test_an_unknown_queue_is_refused_and_nothing_changes() -> None:
    line = await _line()
    with pytest.raises(UnknownQueue):
        await line.join(NewEntry("c1", "nope", T0, "n1:x"), at=T0)
    assert (await line.snapshot()).entries == ()
