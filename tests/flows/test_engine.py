"""The engine on small flows: node kinds, flow choice, guards (runaway loops, bugs, broken ports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.channel import DialStatus
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider, FlowError, FlowSet, StaticFlowProvider
from ivr.flows.lookup import DemoOrderLookup
from ivr.flows.schema import Flow
from ivr.ports import CallEventKind, Disposition, QueueOutcomeKind, Services
from ivr.settings import Settings
from tests.support.fakes import (
    FakeCallbacks,
    FakeQueues,
    FakeRecorder,
    FakeSchedules,
    fake_services,
    make_catalogue,
)
from tests.support.scripted import AgentAnswers, AgentFails, Press, ScriptedChannel, Silence, scripted_info

PROMPTS = ["hi", "menu", "bye", "x", "goodbye", "num/0", "num/1", "num/2", "num/3", "num/4", "num/5", "num/6", "num/7",
           "num/8", "num/9", "num/20", "num/40", "word/and", "confirm/did_you_say", "confirm/yes_no", "option/agent"]
CATALOGUE = make_catalogue({p: {"es": p, "en": p} for p in PROMPTS})


def flow_of(nodes: dict[str, Any], **top: Any) -> Flow:
    data = {"name": "t", "default": True, "languages": ["es", "en"], "start": next(iter(nodes)), "nodes": nodes}
    data.update(top)
    return Flow.model_validate(data)


def engine_for(*flows: Flow, services: Services | None = None, **kwargs: Any) -> FlowEngine:
    return FlowEngine(StaticFlowProvider(FlowSet(flows)), services or fake_services(), CATALOGUE, FakeSchedules(),
                      settings=Settings(), lookup=DemoOrderLookup(), **kwargs)


async def run(engine: FlowEngine, *script: Any, **info: Any) -> tuple[Disposition, ScriptedChannel]:
    channel = ScriptedChannel(list(script), call_info=scripted_info(**info))
    return await engine.run(channel), channel


def recorder(engine: FlowEngine) -> FakeRecorder:
    rec = engine.services.recorder
    assert isinstance(rec, FakeRecorder)
    return rec


async def test_play_and_hangup_records_the_timeline() -> None:
    engine = engine_for(flow_of({"a": {"kind": "play", "prompts": ["hi"], "next": "b"},
                                 "b": {"kind": "hangup", "prompts": ["bye"]}}))
    disposition, channel = await run(engine)
    assert disposition is Disposition.COMPLETED
    assert channel.played == ["es/hi", "es/bye"] and channel.hung_up_by_us and channel.answered
    rec = recorder(engine)
    assert rec.started[0][1:] == ("t", "es")
    assert rec.nodes() == ["a", "b"]
    assert [e.data["prompt"] for e in rec.of_kind(CallEventKind.PROMPT_PLAYED)] == ["es/hi", "es/bye"]
    assert rec.ended == {channel.info.call_id: Disposition.COMPLETED}


async def test_flow_chosen_by_hint_then_number_then_default() -> None:
    default = flow_of({"a": {"kind": "hangup", "prompts": ["hi"]}})
    sales = flow_of({"a": {"kind": "hangup", "prompts": ["x"]}}, name="sales", default=False, numbers=["+34910"])
    special = flow_of({"a": {"kind": "hangup", "prompts": ["bye"]}}, name="special", default=False,
                      numbers=["555"])
    engine = engine_for(default, sales, special)
    assert (await run(engine, dialled="+34910"))[1].played == ["es/x"]
    assert (await run(engine, dialled="34910"))[1].played == ["es/hi"]
    assert (await run(engine, dialled="+34910", flow_hint="special"))[1].played == ["es/bye"]
    assert (await run(engine, dialled="+34910", flow_hint="missing"))[1].played == ["es/x"]


async def test_no_flow_at_all_hands_the_call_to_the_dialplan() -> None:
    sales = flow_of({"a": {"kind": "hangup"}}, name="sales", default=False, numbers=["1"])
    disposition, channel = await run(engine_for(sales), dialled="2")
    assert disposition is Disposition.FAILED
    assert channel.variables == {"PUENTE_QUEUE": "general"} and not channel.hung_up


async def test_runaway_loop_is_cut_and_the_caller_reaches_general() -> None:
    engine = engine_for(flow_of({"a": {"kind": "goto", "next": "b"}, "b": {"kind": "goto", "next": "a"}}),
                        max_steps=50)
    disposition, _ = await run(engine, AgentAnswers())
    assert disposition is Disposition.CONNECTED
    error = recorder(engine).of_kind(CallEventKind.ERROR)[0]
    assert error.data == {"error": "max_steps", "steps": 50}
    queues = engine.services.queues
    assert isinstance(queues, FakeQueues) and queues.queues == ["general"]


async def test_bug_without_a_queue_service_leaves_the_caller_to_the_dialplan_queue() -> None:
    engine = engine_for(flow_of({"a": {"kind": "goto", "next": "a"}}), services=fake_services(queues=None),
                        max_steps=5)
    disposition, channel = await run(engine)
    assert disposition is Disposition.TRANSFERRED
    assert channel.variables["PUENTE_QUEUE"] == "general" and not channel.hung_up


async def test_failing_general_queue_after_a_bug_hangs_up() -> None:
    queues = FakeQueues(fail_for={"general"})
    engine = engine_for(flow_of({"a": {"kind": "queue", "queue": "general"}}), services=fake_services(queues=queues))
    disposition, channel = await run(engine)
    assert disposition is Disposition.FAILED
    assert queues.queues == ["general", "general"] and channel.hung_up_by_us


async def test_broken_recorder_does_not_end_the_call() -> None:
    services = fake_services(recorder=FakeRecorder(fail=True))
    engine = engine_for(flow_of({"a": {"kind": "play", "prompts": ["hi"], "next": "b"}, "b": {"kind": "hangup"}}),
                        services=services)
    disposition, channel = await run(engine)
    assert disposition is Disposition.COMPLETED and channel.played == ["es/hi"]


async def test_branch_set_and_say() -> None:
    nodes = {
        "a": {"kind": "set", "variables": {"tier": "gold", "amount": "42"}, "next": "b"},
        "b": {"kind": "branch", "variable": "tier", "cases": [{"in": ["silver", "gold"], "next": "c"}],
              "default": "end"},
        "c": {"kind": "branch", "attribute": "caller", "cases": [{"regex": "^\\+34", "next": "d"}], "default": "end"},
        "d": {"kind": "say", "variable": "amount", "as": "number", "before": ["x"], "next": "end"},
        "end": {"kind": "hangup"},
    }
    engine = engine_for(flow_of(nodes))
    _, channel = await run(engine, caller="+34600000001")
    assert channel.played == ["es/x", "es/num/40", "es/word/and", "es/num/2"]
    _, channel = await run(engine, caller="600000001")
    assert channel.played == []


async def test_language_value_and_branch_on_language() -> None:
    nodes = {
        "a": {"kind": "language", "value": "en", "next": "b"},
        "b": {"kind": "branch", "attribute": "language", "cases": [{"equals": "en", "next": "c"}], "default": "d"},
        "c": {"kind": "hangup", "prompts": ["hi"]},
        "d": {"kind": "hangup", "prompts": ["bye"]},
    }
    _, channel = await run(engine_for(flow_of(nodes)))
    assert channel.played == ["en/hi"] and channel.variables["PUENTE_LANGUAGE"] == "en"


@pytest.mark.parametrize(("action", "played", "disposition"), [
    (AgentAnswers(), [], Disposition.TRANSFERRED),
    (AgentFails(DialStatus.BUSY), ["es/bye"], Disposition.COMPLETED),
])
async def test_transfer(action: Any, played: list[str], disposition: Disposition) -> None:
    nodes = {"t": {"kind": "transfer", "number": "+34911222333", "timeout": 20, "failure": "f"},
             "f": {"kind": "hangup", "prompts": ["bye"]}}
    engine = engine_for(flow_of(nodes))
    result, channel = await run(engine, action)
    assert result is disposition and channel.played == played
    assert ("connect", ("PJSIP/+34911222333@trunk",)) in [(e.op, e.detail) for e in channel.log]


async def test_queue_after_node_when_the_caller_stays() -> None:
    nodes = {"q": {"kind": "queue", "queue": "billing", "priority": 5, "after": "survey"},
             "survey": {"kind": "hangup", "prompts": ["bye"]}}
    engine = engine_for(flow_of(nodes))
    disposition, channel = await run(engine, AgentAnswers(caller_stays=True))
    assert disposition is Disposition.CONNECTED  # what the call achieved, not just "completed"
    assert channel.played == ["es/bye"]
    queues = engine.services.queues
    assert isinstance(queues, FakeQueues) and queues.requests[0].priority == 5


def test_loader_reads_a_folder_and_reports_bad_files(tmp_path: Path) -> None:
    good = {"name": "a", "default": True, "languages": ["es"], "start": "x", "nodes": {"x": {"kind": "hangup"}}}
    other = dict(good, name="b", default=False, numbers=[34910000000])
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(good))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(other))
    flows = FlowSet.load(tmp_path)
    assert flows.names() == ["a", "b"]
    assert flows.flow_for("34910000000").name == "b" and flows.flow_for("+34910000000").name == "b"
    assert flows.flow_for("1").name == "a" and flows.by_name("b").name == "b"
    with pytest.raises(FlowError, match="no flow named 'c'"):
        flows.by_name("c")
    (tmp_path / "c.yaml").write_text("name: c\nlanguages: [es]\nstart: x\nnodes: {x: {kind: hangup}}\n")
    with pytest.raises(FlowError, match=r"c\.yaml:-: a flow needs numbers, or default: true"):
        FlowSet.load(tmp_path)


async def test_reload_takes_effect_for_the_next_call_without_restart(tmp_path: Path) -> None:
    def write(prompt: str) -> None:
        flow = {"name": "a", "default": True, "languages": ["es"], "start": "x",
                "nodes": {"x": {"kind": "hangup", "prompts": [prompt]}}}
        (tmp_path / "a.yaml").write_text(yaml.safe_dump(flow))

    write("hi")
    provider = FileFlowProvider(tmp_path)
    engine = FlowEngine(provider, fake_services(), CATALOGUE, FakeSchedules(), settings=Settings())
    assert (await run(engine))[1].played == ["es/hi"]
    write("bye")
    provider.reload()
    assert (await run(engine))[1].played == ["es/bye"]
    (tmp_path / "a.yaml").write_text("name: [broken")
    with pytest.raises(FlowError):
        provider.reload()
    assert (await run(engine))[1].played == ["es/bye"]  # the last good flows keep answering


async def test_collect_with_terminator_and_pattern() -> None:
    nodes = {
        "c": {"kind": "collect", "prompts": ["x"], "variable": "pin", "min_length": 4, "max_length": 8,
              "pattern": "^[0-9]+$", "next": "s", "fallback": "f", "max_tries": 2},
        "s": {"kind": "say", "variable": "pin", "next": "f"},
        "f": {"kind": "hangup"},
    }
    engine = engine_for(flow_of(nodes))
    _, channel = await run(engine, Press("12"), Press("4321#"))
    assert channel.played == ["es/x", "es/x", "es/num/4", "es/num/3", "es/num/2", "es/num/1"]
    assert channel.specs[0].terminator == "#" and channel.specs[0].max_digits == 8


async def test_hangup_at_an_operation_mid_flow() -> None:
    engine = engine_for(flow_of({"a": {"kind": "play", "prompts": ["hi"], "next": "b"},
                                 "b": {"kind": "mark_need", "need": "billing", "queue": "billing", "next": "c"},
                                 "c": {"kind": "play", "prompts": ["x"], "next": "d"},
                                 "d": {"kind": "queue", "queue": "billing"}}))
    channel = ScriptedChannel([], hang_up_at_op=6)  # answer, 3 variables, hi, then x
    disposition = await engine.run(channel)
    assert disposition is Disposition.CALLER_HANGUP and channel.played == ["es/hi"]
    callbacks = engine.services.callbacks
    assert isinstance(callbacks, FakeCallbacks)
    [req] = callbacks.requests
    assert req.queue == "billing" and req.context is not None and req.context.path == ("a", "b", "c")


# --------------------------------------------------------------------------- time in the IVR
class FakeClock:
    """Each reading is ``step`` seconds after the one before (or the next of ``steps``)."""

    def __init__(self, step: float = 1.0, steps: list[float] | None = None) -> None:
        self.now = 0.0
        self.step = step
        self.steps = list(steps or [])

    def __call__(self) -> float:
        self.now += self.steps.pop(0) if self.steps else self.step
        return self.now


SILENT_LOOP = {  # a menu and a play that send a silent caller round each other (the validator refuses it)
    "menu": {"kind": "menu", "prompts": ["menu"], "options": {"1": {"next": "bye"}}, "agent": "q", "fallback": "again"},
    "again": {"kind": "play", "prompts": ["x"], "next": "menu"},
    "q": {"kind": "queue", "queue": "general"},
    "bye": {"kind": "hangup", "prompts": ["bye"]},
}


async def test_a_silent_caller_is_said_goodbye_at_the_flow_time_limit() -> None:
    engine = engine_for(flow_of(SILENT_LOOP, max_ivr_seconds=60), clock=FakeClock(step=5.0))
    disposition, channel = await run(engine, *[Silence()] * 200)
    assert disposition is Disposition.TIME_LIMIT
    assert channel.played[-1] == "es/goodbye" and channel.hung_up_by_us
    rec = recorder(engine)
    assert rec.ended == {channel.info.call_id: Disposition.TIME_LIMIT}
    limit = [e for e in rec.of_kind(CallEventKind.ERROR) if e.data.get("error") == "ivr_time_limit"]
    assert len(limit) == 1 and limit[0].data["seconds"] >= 60
    # 5 s per node: 12 nodes, far below the 500-step guard
    assert len(rec.nodes()) == 12


async def test_the_time_limit_defaults_to_the_setting() -> None:
    settings = Settings()
    settings.flows.max_ivr_seconds = 30
    engine = FlowEngine(StaticFlowProvider(FlowSet([flow_of(SILENT_LOOP)])), fake_services(), CATALOGUE,
                        FakeSchedules(), settings=settings, clock=FakeClock(step=10.0))
    disposition, _ = await run(engine, *[Silence()] * 200)
    assert disposition is Disposition.TIME_LIMIT and len(recorder(engine).nodes()) == 3


async def test_time_in_a_queue_does_not_count_towards_the_limit() -> None:
    # 1000 s in the queue, then 1 s in the menu: under the 30 s limit, since queue time is not IVR time
    nodes = {"q": {"kind": "queue", "queue": "general", "overflow": "menu"},
             "menu": {"kind": "menu", "prompts": ["menu"], "options": {"1": {"next": "bye"}}, "agent": "q",
                      "fallback": "bye"},
             "bye": {"kind": "hangup", "prompts": ["bye"]}}
    services = fake_services()
    assert isinstance(services.queues, FakeQueues)
    services.queues.default = QueueOutcomeKind.OVERFLOW
    clock = FakeClock(steps=[1.0, 1000.0, 1.0, 1.0])  # queue: read at 1, 1001; menu: 1002, 1003
    engine = engine_for(flow_of(nodes, max_ivr_seconds=30), services=services, clock=clock)
    disposition, channel = await run(engine, Silence(), Silence())
    assert disposition is Disposition.COMPLETED and channel.played[-1] == "es/bye"
