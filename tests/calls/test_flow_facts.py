"""One event path: the engine publishes each fact once, typed, onto the bus; the call recorder
writes each as one row, in the order published, and a failing recorder never ends the call."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from ivr.calls.store import CallStore
from ivr.calls.timeline import fact_row
from ivr.calls.writer import CallWriter
from ivr.channel import InputResult, InputSpec, PromptFile
from ivr.db import Database
from ivr.events import EventBus
from ivr.events.flow import PromptPlayed
from ivr.events.types import CallEnded, CallStarted, Event, InputReceived, NodeEntered, NoMatch
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.flows.lookup import DemoOrderLookup
from ivr.observability.mqtt import _broadcast
from ivr.ports import Disposition
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, Settings
from tests.support.fakes import FakeSchedules, fake_services
from tests.support.scripted import Action, AgentAnswers, Press, ScriptedChannel, scripted_info

ORDER_STATUS: list[Action] = [Press("2"), Press("3"), Press("123456"), Press("9")]
INVALID_TWICE: list[Action] = [Press("2"), Press("7"), Press("8"), AgentAnswers()]


def _engine(store: CallStore) -> FlowEngine:
    services = fake_services(recorder=store, history=None)
    return FlowEngine(FileFlowProvider(PROJECT_ROOT / "dialplan" / "flows"), services,
                      PromptCatalogue.load(PROJECT_ROOT / "prompts"), FakeSchedules(), settings=Settings(),
                      lookup=DemoOrderLookup())


class _LiveCaller(ScriptedChannel):
    """Hands the loop over at each question, as a real channel waiting for the caller does, so
    concurrent calls interleave their facts on the bus."""

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        await asyncio.sleep(0)
        return await super().collect(prompts, spec)


async def _two_calls(engine: FlowEngine) -> tuple[Disposition, Disposition]:
    one = _LiveCaller(list(ORDER_STATUS), call_info=scripted_info(call_id="c-order"))
    two = _LiveCaller(list(INVALID_TWICE), call_info=scripted_info(call_id="c-invalid"))
    first, second = await asyncio.gather(engine.run(one), engine.run(two))
    return first, second


def _call_id(event: Event) -> str | None:
    value = getattr(event, "call_id", None)
    return value if isinstance(value, str) else None


async def test_each_fact_is_published_once_and_written_once_in_order(sqlite_db: Database) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.add_listener(seen.append)  # as the metrics listen
    store = CallStore(sqlite_db, bus)
    assert await _two_calls(_engine(store)) == (Disposition.COMPLETED, Disposition.CONNECTED)

    order = [_call_id(e) for e in seen]
    spans = {c: (order.index(c), len(order) - order[::-1].index(c)) for c in ("c-order", "c-invalid")}
    assert spans["c-invalid"][0] < spans["c-order"][1] and spans["c-order"][0] < spans["c-invalid"][1]  # interleaved
    kinds: Counter[str] = Counter()
    for call_id in ("c-order", "c-invalid"):
        events = [e for e in seen if _call_id(e) == call_id]
        assert isinstance(events[0], CallStarted) and isinstance(events[-1], CallEnded)
        assert sum(isinstance(e, CallStarted | CallEnded) for e in events) == 2
        expected = [row for e in events if (row := fact_row(e)) is not None]
        assert len(expected) == len(events) - 2  # every fact between start and end has its row

        record = await store.get_call(call_id)
        assert record is not None
        assert [e.seq for e in record.events] == list(range(1, len(expected) + 1))
        assert [(e.kind, e.node, e.data) for e in record.events] == [
            (row.kind.value, row.node, row.data) for row in expected]
        kinds.update(e.kind for e in record.events)
    covered = {"node_entered", "prompt_played", "input", "no_match", "variable_set", "lookup", "language_set"}
    assert covered <= set(kinds)
    # one NodeEntered per node entered: the metrics and MQTT see each fact once
    assert kinds["node_entered"] == sum(isinstance(e, NodeEntered) for e in seen)
    assert kinds["input"] + kinds["no_match"] + kinds["no_input"] == sum(isinstance(e, InputReceived) for e in seen)


class _BrokenWriter(CallWriter):
    """Every timeline row fails to be taken (a bug in the recorder)."""

    def add_event(self, row: dict[str, Any]) -> None:
        raise RuntimeError("recorder bug")


async def test_a_failing_recorder_never_ends_the_call(sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    store = CallStore(sqlite_db, EventBus(), writer=_BrokenWriter(sqlite_db))
    with caplog.at_level(logging.ERROR):
        assert await _two_calls(_engine(store)) == (Disposition.COMPLETED, Disposition.CONNECTED)
    assert any(r.getMessage() == "event listener failed" for r in caplog.records)  # logged, not raised
    record = await store.get_call("c-order")
    assert record is not None and record.disposition == "completed" and record.events == ()


def test_only_broadcast_events_reach_mqtt_and_without_what_the_caller_keyed() -> None:
    assert not _broadcast(PromptPlayed(call_id="c", node="n", prompt="es/main_menu"))
    assert _broadcast(NodeEntered(call_id="c", flow="support", node="n", node_kind="menu"))
    pressed = InputReceived(call_id="c", node="n", mode="dtmf", digits="123456", key="1")
    assert _broadcast(pressed) and _broadcast(NoMatch(call_id="c", node="n", digits="9"))
    # the payload MQTT always had: no digits, transcript, key or engine
    assert set(pressed.to_dict()) == {"kind", "at", "call_id", "node", "mode", "matched", "confidence"}
    assert set(NodeEntered(call_id="c", flow="f", node="n", node_kind="menu").to_dict()) == {
        "kind", "at", "call_id", "flow", "node", "node_kind"}
