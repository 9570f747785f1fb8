"""End to end with the real call store and ACD: the stored timeline (`ivr calls show --json`), and a
caller who abandoned being recognised on the next call and going back to the queue with credit."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from click.testing import CliRunner

from ivr.acd.service import AcdService
from ivr.acd.types import AgentState
from ivr.calls.store import CallStore
from ivr.cli import main
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.ports import Disposition
from ivr.settings import Settings
from tests.flows.conftest import FLOWS_DIR
from tests.support.acd_fakes import prompts, support_queue, two_agents
from tests.support.fakes import FakeCallbacks, FakeDeflection, FakeSchedules, fake_services
from tests.support.scripted import HangUp, Press, Say, ScriptedChannel, scripted_info

CALLER = "+34600555444"


class SteppingClock:
    """The ACD's clock: every reading is 20 s later, so a short scripted hold is a real wait."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=20)
        return self.now


def _engine(db: Database) -> tuple[FlowEngine, CallStore]:
    bus = EventBus()
    store = CallStore(db, bus)
    catalogue = prompts()
    acd = AcdService(queues={"support": support_queue()}, agents=two_agents(), bus=bus, recorder=store,
                     prompts=catalogue, clock=SteppingClock())
    acd.set_agent_state("a1", AgentState.BUSY)  # staffed, but nobody free: callers wait
    services = fake_services(recorder=store, history=store, queues=acd, callbacks=FakeCallbacks(),
                             deflection=FakeDeflection())
    engine = FlowEngine(FileFlowProvider(FLOWS_DIR), services, catalogue, FakeSchedules(), settings=Settings())
    return engine, store


async def _show(db: Database, call_id: str) -> dict[str, Any]:
    runner = CliRunner()  # the CLI runs its own event loop: call it from a worker thread
    result = await asyncio.to_thread(runner.invoke, main, ["calls", "show", call_id, "--json"],
                                     env={"IVR_DATABASE_URL": db.url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.output)
    return shown


def _events(shown: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in shown["events"] if e["kind"] == kind]


async def test_abandon_is_recorded_then_recognised_and_credited(sqlite_db: Database) -> None:
    engine, _ = _engine(sqlite_db)
    first = ScriptedChannel([Say("español", confidence=0.83), Press("2"), HangUp()],
                            call_info=scripted_info(caller=CALLER, call_id="1763900000.1"))
    assert await engine.run(first) is Disposition.ABANDONED

    shown = await _show(sqlite_db, "1763900000.1")
    assert shown["caller"] == CALLER and shown["dialled"] == "900100200" and shown["language"] == "es"
    assert shown["disposition"] == "abandoned" and shown["ended_at"] and shown["queue"] == "support"
    nodes = [e["node"] for e in _events(shown, "node_entered")]
    assert nodes[:3] == ["choose_language", "returning", "greeting"] and "main_menu" in nodes
    assert {"es/greeting", "es/main_menu"} <= {e["data"]["prompt"] for e in _events(shown, "prompt_played")}
    spoken, pressed = _events(shown, "input")[:2]
    assert spoken["node"] == "choose_language" and spoken["data"]["mode"] == "speech"
    assert spoken["data"]["transcript"] == "español" and spoken["data"]["confidence"] == 0.83
    assert pressed["node"] == "main_menu" and pressed["data"]["mode"] == "dtmf" and pressed["data"]["digits"] == "2"
    [left] = _events(shown, "queue_left")
    waited = left["data"]["waited_seconds"]
    assert waited >= 20 and shown["waited_seconds"] == waited

    second = ScriptedChannel([Press("2"), Press("1"), HangUp()],
                             call_info=scripted_info(caller=CALLER, call_id="1763900000.2"))
    assert await engine.run(second) is Disposition.ABANDONED
    again = await _show(sqlite_db, "1763900000.2")
    [returning] = _events(again, "returning_caller")
    assert returning["data"]["previous_call_id"] == "1763900000.1" and returning["data"]["queue"] == "support"
    assert "es/greeting" not in second.played  # straight back to the queue
    [joined] = _events(again, "queue_joined")
    assert joined["data"]["queue"] == "support" and joined["data"]["credit_seconds"] == round(waited)


async def test_another_number_is_not_recognised(sqlite_db: Database) -> None:
    engine, _ = _engine(sqlite_db)
    first = ScriptedChannel([Press("2"), Press("2"), HangUp()],
                            call_info=scripted_info(caller=CALLER, call_id="1763900000.3"))
    assert await engine.run(first) is Disposition.ABANDONED
    other = ScriptedChannel([Press("2"), Press("2"), HangUp()],
                            call_info=scripted_info(caller="+34600555000", call_id="1763900000.4"))
    assert await engine.run(other) is Disposition.ABANDONED
    shown = await _show(sqlite_db, "1763900000.4")
    assert _events(shown, "returning_caller") == []  # another number is not recognised
