"""The ACD's typed events as timeline rows: the shapes ``ivr calls show`` and the reconciler read."""

from __future__ import annotations

from ivr.calls.timeline import timeline_rows
from ivr.events.types import (
    AgentMissed,
    CallStarted,
    QueueAnnounced,
    QueueJoined,
    QueueLeft,
    QueueOverflowed,
    QueueUnstaffed,
)
from ivr.ports import CallEventKind


def test_a_returning_callers_join_and_exit_carry_the_credit() -> None:
    [joined] = timeline_rows(QueueJoined(call_id="c1", queue="support", position=2, ewt_seconds=90.0,
                                         credit_seconds=40.0, priority=1))
    assert (joined.kind, joined.node) == (CallEventKind.QUEUE_JOINED, "queue:support")
    assert joined.data == {"queue": "support", "position": 2, "ewt_seconds": 90.0, "credit_seconds": 40.0,
                           "priority": 1}
    [left] = timeline_rows(QueueLeft(call_id="c1", queue="support", outcome="abandoned", waited_seconds=12.3456,
                                     credit_seconds=40.0, position=1))
    assert left.data == {"queue": "support", "outcome": "abandoned", "waited_seconds": 52.346,
                         "waited_this_call_seconds": 12.346, "position": 1, "agent_id": None}


def test_an_overflow_to_another_queue_leaves_one_and_joins_the_other() -> None:
    rows = timeline_rows(QueueOverflowed(call_id="c1", queue="sales", overflow="queue:support", target="support"))
    assert [(r.kind, r.queue, r.data) for r in rows] == [
        (CallEventKind.QUEUE_LEFT, "sales", {"queue": "sales", "overflow": "queue:support"}),
        (CallEventKind.QUEUE_JOINED, "support", {"queue": "support", "overflow_from": "sales"}),
    ]
    [only] = timeline_rows(QueueOverflowed(call_id="c1", queue="sales", overflow="flow"))
    assert only.kind is CallEventKind.QUEUE_LEFT


def test_unstaffed_before_and_after_joining_and_the_rest() -> None:
    [before] = timeline_rows(QueueUnstaffed(call_id="c1", queue="support", joined=False))
    assert before.data == {"queue": "support", "outcome": "unavailable"}
    [after] = timeline_rows(QueueUnstaffed(call_id="c1", queue="support", joined=True))
    assert after.data == {"queue": "support", "reason": "no_agents"}
    [missed] = timeline_rows(AgentMissed(agent_id="a1", call_id="c1", queue="support", result="noanswer"))
    assert (missed.kind, missed.data["result"]) == (CallEventKind.AGENT_OFFERED, "noanswer")
    [heard] = timeline_rows(QueueAnnounced(call_id="c1", queue="support", position=3, ewt_seconds=120.0,
                                           band="about 2 minutes", method="ql-m", keys="12"))
    assert heard.kind is CallEventKind.EWT_ANNOUNCED and heard.data["keys"] == "12"
    assert timeline_rows(CallStarted(call_id="c1", dialled="900", backend="agi", flow="support")) == []
