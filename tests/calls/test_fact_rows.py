"""The flow's typed facts as timeline rows: the shapes the engine wrote as (kind, dict) before it
published typed events (``ivr calls show --json``, the reconciler, the desk and the simulator read them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.calls.timeline import fact_row
from ivr.events import flow
from ivr.events.flow import (
    CallbackRequested,
    CallError,
    CallFact,
    CallResumed,
    DeflectionOffered,
    DeflectionSent,
    HungUp,
    LanguageSet,
    OrderLookedUp,
    PromptPlayed,
    ReturningCaller,
    ScheduleChecked,
    ScheduleReading,
    TransferDialled,
    TransferEnded,
    VariableSet,
)
from ivr.events.types import CallStarted, Event, InputReceived, NodeEntered, NoInput, NoMatch, QueueJoined

ARRIVAL = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
C = "c1"

CASES: list[tuple[Event, str, str | None, dict[str, Any]]] = [
    (NodeEntered(call_id=C, flow="support", node="main", node_kind="menu"), "node_entered", "main", {"kind": "menu"}),
    (NodeEntered(call_id=C, flow="support", node="resume", node_kind="resume", queue="billing", arrival=ARRIVAL,
                 priority=2, place="in_line"), "node_entered", "resume",
     {"kind": "resume", "queue": "billing", "arrival": ARRIVAL.isoformat(), "priority": 2, "place": "in_line"}),
    (NodeEntered(call_id=C, flow="support", node="resume", node_kind="resume", place="menu"), "node_entered",
     "resume", {"kind": "resume", "place": "menu"}),
    (PromptPlayed(call_id=C, node="main", prompt="es/main_menu"), "prompt_played", "main", {"prompt": "es/main_menu"}),
    (InputReceived(call_id=C, node="main", mode="speech", digits="", transcript="facturas", key="2",
                   confidence=0.9, engine="vosk"), "input", "main",
     {"mode": "speech", "digits": "", "transcript": "facturas", "key": "2", "confidence": 0.9, "engine": "vosk"}),
    (NoInput(call_id=C, node="main"), "no_input", "main", {}),
    (NoMatch(call_id=C, node="main", digits="7", transcript=""), "no_match", "main", {"digits": "7", "transcript": ""}),
    (NoMatch(call_id=C, node="order", digits="12"), "no_match", "order", {"digits": "12"}),
    (NoMatch(call_id=C, node="offer"), "no_match", "offer", {}),
    (LanguageSet(call_id=C, node="lang", language="en"), "language_set", "lang", {"language": "en"}),
    (VariableSet(call_id=C, node="set", variables=("amount", "tier")), "variable_set", "set",
     {"variables": ["amount", "tier"]}),
    (VariableSet(call_id=C, node="need", need="billing"), "variable_set", "need", {"need": "billing"}),
    (VariableSet(call_id=C, node="order", variable="order_number"), "variable_set", "order",
     {"variable": "order_number"}),
    (ScheduleChecked(call_id=C, node="hours", schedule="support", state="closed",
                     reading=ScheduleReading(reason="Navidad", source="rules", next_change=None)),
     "schedule", "hours",
     {"schedule": "support", "reason": "Navidad", "source": "rules", "next_change": None, "state": "closed"}),
    (ScheduleChecked(call_id=C, node="hours", schedule=None, state="open", error="no schedule"), "schedule", "hours",
     {"schedule": None, "error": "no schedule", "state": "open"}),
    (OrderLookedUp(call_id=C, node="lookup", error="no lookup configured"), "lookup", "lookup",
     {"error": "no lookup configured"}),
    (OrderLookedUp(call_id=C, node="lookup", order="123", error="timeout"), "lookup", "lookup",
     {"order": "123", "error": "timeout"}),
    (OrderLookedUp(call_id=C, node="lookup", order="123"), "lookup", "lookup", {"order": "123", "status": None}),
    (TransferDialled(call_id=C, node="q", to="dialplan_queue", queue="general"), "transfer", "q",
     {"to": "dialplan_queue", "queue": "general"}),
    (TransferDialled(call_id=C, node="t", to="+3491", endpoint="PJSIP/+3491"), "transfer", "t",
     {"to": "+3491", "endpoint": "PJSIP/+3491"}),
    (TransferEnded(call_id=C, node="t", status="ANSWER", talk_seconds=None), "transfer", "t",
     {"status": "ANSWER", "talk_seconds": None}),
    (CallbackRequested(call_id=C, source="flow_drop", refused="opted out"), "callback_requested", None,
     {"source": "flow_drop", "refused": "opted out"}),
    (CallbackRequested(call_id=C, source="flow_drop", queue="general", callback_id="cb1",
                       scheduled_for=ARRIVAL.isoformat()), "callback_requested", None,
     {"source": "flow_drop", "queue": "general", "callback_id": "cb1", "scheduled_for": ARRIVAL.isoformat()}),
    (CallbackRequested(call_id=C, node="offer:callback:general", queue="general", source="flow", accepted=False),
     "callback_requested", "offer:callback:general", {"queue": "general", "source": "flow", "accepted": False}),
    (CallbackRequested(call_id=C, node="o", queue="general", source="flow", accepted=True, callback_id="cb2",
                       scheduled_for=ARRIVAL.isoformat(), merged=False), "callback_requested", "o",
     {"queue": "general", "source": "flow", "accepted": True, "callback_id": "cb2",
      "scheduled_for": ARRIVAL.isoformat(), "merged": False}),
    (DeflectionOffered(call_id=C, node="o", reason="queue_wait", offered=False, why="no message channel"),
     "deflection_offered", "o", {"reason": "queue_wait", "offered": False, "why": "no message channel"}),
    (DeflectionOffered(call_id=C, node="o", reason="queue_wait", offered=True, answer="yes", prompt_id="p",
                       prompt_version="3", consent_mode=None), "deflection_offered", "o",
     {"reason": "queue_wait", "offered": True, "answer": "yes", "prompt_id": "p", "prompt_version": "3",
      "consent_mode": None}),
    (DeflectionSent(call_id=C, node="o", link_id="l1", reference="AB12", channel="sms"), "deflection_sent", "o",
     {"link_id": "l1", "reference": "AB12", "channel": "sms"}),
    (ReturningCaller(call_id=C, node="r", previous_call_id="c0", queue="support", waited_seconds=40.0),
     "returning_caller", "r", {"previous_call_id": "c0", "queue": "support", "waited_seconds": 40.0}),
    (CallError(call_id=C, node="m", error="max_tries", fallback="agent"), "error", "m",
     {"error": "max_tries", "fallback": "agent"}),
    (CallError(call_id=C, error="no flow"), "error", None, {"error": "no flow"}),
    (CallError(call_id=C, node="m", error="ValueError", detail="bad"), "error", "m",
     {"error": "ValueError", "detail": "bad"}),
    (CallError(call_id=C, node="m", error="max_steps", steps=500), "error", "m", {"error": "max_steps", "steps": 500}),
    (CallError(call_id=C, node="m", error="ivr_time_limit", seconds=900), "error", "m",
     {"error": "ivr_time_limit", "seconds": 900}),
    (HungUp(call_id=C, node="m", by="caller"), "hangup", "m", {"by": "caller"}),
    (CallResumed(call_id=C, leg=2, owner="b:1", resumed_on="b", previous_owner="a:1", previous_disposition=None),
     "resumed", None, {"leg": 2, "owner": "b:1", "node": "b", "previous_owner": "a:1", "previous_disposition": None}),
]


@pytest.mark.parametrize(("event", "kind", "node", "data"), CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)])
def test_each_fact_has_the_row_it_always_had(event: Event, kind: str, node: str | None, data: dict[str, Any]) -> None:
    row = fact_row(event)
    assert row is not None
    assert (row.call_id, row.kind.value, row.node, row.data) == (C, kind, node, data)
    assert list(row.data) == list(data)  # the keys in the order they were written


def test_every_fact_type_has_a_row_and_nothing_else_does() -> None:
    facts = {cls for cls in vars(flow).values() if isinstance(cls, type) and issubclass(cls, CallFact)} - {CallFact}
    assert facts <= {type(e) for e, *_ in CASES}
    assert fact_row(CallStarted(call_id=C, dialled="900", backend="sip", flow="support")) is None
    assert fact_row(QueueJoined(call_id=C, queue="support", position=1, ewt_seconds=None)) is None
