"""The shipped support flow, end to end over FastAGI: the real FlowEngine and dialplan/flows/support.yaml
behind Puente's AGI server, an emulated Asterisk pressing keys (queues, callbacks and deflection faked)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from ivr.channel import Channel
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.flows.lookup import DemoOrderLookup
from ivr.ports import CallbackSource, CallEventKind, Disposition, Services
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.model import ScheduleState
from ivr.settings import PROJECT_ROOT, Settings
from tests.agi.conftest import running_server
from tests.agi.helpers import drive
from tests.support.agi_driver import R_USAGE, CallerModel, DriverResult, env_block
from tests.support.fakes import FakeCallbacks, FakeQueues, FakeRecorder, FakeSchedules, fake_services

FLOWS_DIR = PROJECT_ROOT / "dialplan" / "flows"


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(PROJECT_ROOT / "prompts")


@dataclass
class RecordingEngine:
    """The real engine; keeps each call's disposition for the assertions."""

    engine: FlowEngine
    dispositions: list[Disposition] = field(default_factory=list)

    async def run(self, channel: Channel) -> Disposition:
        disposition = await self.engine.run(channel)
        self.dispositions.append(disposition)
        return disposition


@dataclass
class Line:
    services: Services
    schedules: FakeSchedules
    catalogue: PromptCatalogue

    @property
    def queues(self) -> FakeQueues:
        assert isinstance(self.services.queues, FakeQueues)
        return self.services.queues

    @property
    def recorder(self) -> FakeRecorder:
        assert isinstance(self.services.recorder, FakeRecorder)
        return self.services.recorder

    async def call(self, model: CallerModel, *, dnid: str = "900100200",
                   errors: int = 0) -> tuple[Disposition, DriverResult]:
        engine = RecordingEngine(FlowEngine(FileFlowProvider(FLOWS_DIR), self.services, self.catalogue,
                                            self.schedules, settings=Settings(), lookup=DemoOrderLookup()))
        async with running_server(engine=engine) as server:
            model.hook_port = server.port  # Dial's answer hook connects back
            result = await drive(server, model, env=env_block(script="support", dnid=dnid,
                                                              callerid="+34600111222"))
            assert server.stats.errors_total == errors
        assert result.closed_by_server, "Puente must close the AGI socket at the end of every call"
        [disposition] = engine.dispositions
        return disposition, result


def dialled(result: DriverResult) -> str:
    """The Dial command without its one-time answer-hook token."""
    [dial] = [c for c in result.commands if c.startswith("EXEC Dial")]
    return dial.split("^", 1)[0] + "^"


@pytest.fixture
def line(catalogue: PromptCatalogue) -> Line:
    return Line(services=fake_services(), schedules=FakeSchedules(), catalogue=catalogue)


def streamed(result: DriverResult) -> list[str]:
    return [c.split(" ")[2] for c in result.commands if c.startswith("STREAM FILE")]


def variables(model: CallerModel) -> dict[str, Any]:
    return {k: v for k, v in model.variables.items() if k.startswith("PUENTE_")}


async def test_billing(line: Line) -> None:
    model = CallerModel("21")  # 2 = Spanish, then 1 = billing
    disposition, result = await line.call(model)
    assert disposition is Disposition.CONNECTED
    assert line.queues.queues == ["billing"]
    expected = {"PUENTE_QUEUE": "billing", "PUENTE_LANGUAGE": "es", "PUENTE_CALL_ID": "1795424844.1"}
    assert expected.items() <= variables(model).items()
    assert dialled(result) == "EXEC Dial agent/billing,15,gU(puente-agent-answered^"
    assert len(model.hooks) == 1
    assert "puente/es/greeting" in streamed(result)
    assert 'STREAM FILE puente/es/main_menu "0123456789*#"' in result.commands


async def test_support(line: Line) -> None:
    model = CallerModel("22")
    disposition, result = await line.call(model)
    assert disposition is Disposition.CONNECTED
    assert line.queues.queues == ["support"]
    assert dialled(result) == "EXEC Dial agent/support,15,gU(puente-agent-answered^"
    assert len(model.hooks) == 1
    assert model.variables["PUENTE_QUEUE"] == "support"


async def test_order_status(line: Line) -> None:
    model = CallerModel("23" + "123456" + "9")
    disposition, result = await line.call(model)
    assert disposition is Disposition.COMPLETED
    played = streamed(result)
    start = played.index("puente/es/order/your_order")
    assert played[start:start + 8] == ["puente/es/order/your_order"] + [f"puente/es/num/{d}" for d in "123456"] + [
        "puente/es/order/shipped"]
    assert played[-1] == "puente/es/goodbye"
    assert result.commands[-1] == "HANGUP"  # the flow hung up; no PUENTE_RESULT on a dead channel
    assert line.queues.requests == []
    assert line.recorder.of_kind(CallEventKind.LOOKUP)[0].data == {"order": "123456", "status": "shipped"}


async def test_agent_escape(line: Line) -> None:
    model = CallerModel("20")
    disposition, result = await line.call(model)
    assert disposition is Disposition.CONNECTED
    assert line.queues.queues == ["general"]
    assert "puente/es/transferring" in streamed(result)
    assert dialled(result) == "EXEC Dial agent/general,15,gU(puente-agent-answered^"
    assert len(model.hooks) == 1


async def test_invalid_input_twice_goes_to_a_human(line: Line) -> None:
    model = CallerModel("278")  # Spanish, then 7 and 8: no such options
    disposition, result = await line.call(model)
    assert disposition is Disposition.CONNECTED
    assert line.queues.queues == ["general"]
    assert streamed(result).count("puente/es/invalid") >= 1
    assert len(line.recorder.of_kind(CallEventKind.NO_MATCH)) == 2


async def test_after_hours_hear_the_hours(line: Line) -> None:
    line.schedules.states["support"] = ScheduleState.CLOSED
    model = CallerModel("20")
    disposition, result = await line.call(model)
    assert disposition is Disposition.COMPLETED
    assert streamed(result)[-2:] == ["puente/es/hours", "puente/es/goodbye"]
    assert "puente/es/after_hours/menu" in streamed(result)
    assert line.queues.requests == []


async def test_after_hours_callback(line: Line) -> None:
    line.schedules.states["support"] = ScheduleState.CLOSED
    model = CallerModel("121")  # English, 2 = call me back, 1 = yes
    disposition, result = await line.call(model)
    assert disposition is Disposition.CALLBACK
    assert isinstance(line.services.callbacks, FakeCallbacks)
    [request] = line.services.callbacks.requests
    assert request.source is CallbackSource.AFTER_HOURS
    assert request.number == "+34600111222"
    assert "puente/en/after_hours/menu" in streamed(result)


async def test_caller_hangs_up_in_the_menu(line: Line) -> None:
    model = CallerModel("2", hangup_at_media=3)  # language, greeting, then gone in the main menu
    disposition, result = await line.call(model)
    assert disposition is Disposition.CALLER_HANGUP
    assert result.commands[-1].startswith("STREAM FILE")  # nothing after the hangup but the close


class RefusesTheGreeting(CallerModel):
    """An Asterisk that answers the greeting's STREAM FILE with a 520 usage text (as if the
    command were malformed): the peer's fault."""

    async def _stream(self, command: str) -> Sequence[str]:
        if "greeting" in command:
            return list(R_USAGE)
        return await super()._stream(command)


async def test_an_unexpected_reply_is_one_warning_and_the_caller_reaches_a_human(
        line: Line, caplog: pytest.LogCaptureFixture) -> None:
    model = RefusesTheGreeting("2")
    with caplog.at_level(logging.INFO):
        disposition, _ = await line.call(model, errors=1)  # counted once, as a protocol error
    assert disposition is Disposition.CONNECTED and line.queues.queues == ["general"]
    assert not [r for r in caplog.records if r.exc_info is not None]  # no traceback anywhere
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = [r for r in caplog.records if "answered 520" in r.getMessage()]
    assert len(refused) == 1 and getattr(refused[0], "call_id", None) == "1795424844.1"
