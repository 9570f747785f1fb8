"""The editor's call simulator: the real :class:`~ivr.flows.engine.FlowEngine` runs a DRAFT flow
against a scripted caller, so an admin sees every prompt's text, the variables and the branch each
input takes before publishing.

Each request replays the call from the start with the caller's inputs so far (keys, words,
silence) and stops where the caller is next asked for something: no state is kept between
requests. Queues, callbacks and links are fakes that say what would happen and touch nothing; the
order lookup is the demo table. A simulation runs on the event loop (the engine is async, and each
step is a few dictionary look-ups), bounded by a step budget (``max_steps``), a deadline and a
limit on how many run at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivr.calls.timeline import fact_row
from ivr.channel import CallerHungUp, CallInfo, Channel, InputResult, InputSpec, PromptFile
from ivr.channels.scripted import Action, Press, Say, ScriptedChannel, Silence, scripted_info
from ivr.events.types import Event
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FlowSet
from ivr.flows.lookup import DemoOrderLookup
from ivr.flows.protocols import ScheduleLookup
from ivr.flows.runtime import CallRun
from ivr.flows.schema import Flow
from ivr.logs import current_call_id
from ivr.ports import (
    CallbackRequest,
    CallbackTicket,
    CallEventKind,
    DeflectionRequest,
    Disposition,
    LinkTicket,
    MessageChannel,
    QueueOutcome,
    QueueOutcomeKind,
    QueueRequest,
    Services,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.model import ScheduleStatus
from ivr.settings import Settings

MAX_INPUTS = 60
MAX_STEPS = 200  # nodes entered; the shipped flow needs ~10 for a whole call
DEADLINE_SECONDS = 2.0
SIM_CALLER = "+34600000000"  # a placeholder number: nothing is sent to it


@dataclass(frozen=True, slots=True)
class SimInput:
    """One thing the caller does when asked: keys, words, or nothing."""

    press: str | None = None
    say: str | None = None

    def action(self) -> Action:
        if self.press is not None:
            return Press(self.press)
        if self.say is not None:
            return Say(self.say, confidence=1.0)
        return Silence()


@dataclass(frozen=True, slots=True)
class SimStep:
    kind: str  # node / prompt / input / no_input / no_match / variable / language / schedule / would / end
    node: str | None
    text: str


@dataclass(frozen=True, slots=True)
class SimWaiting:
    node: str | None
    keys: bool
    speech: bool


@dataclass(frozen=True, slots=True)
class SimResult:
    steps: list[SimStep]
    waiting: SimWaiting | None  # where the call waits for the caller's next input (None: it ended)
    disposition: str | None
    variables: dict[str, str]
    language: str | None


class SimulatorBusy(Exception):
    pass


@dataclass
class _Log:
    """The transcript, shared by the fakes, the recorder and the channel."""

    prompts: PromptCatalogue
    steps: list[SimStep] = field(default_factory=list)
    node: str | None = None
    waiting: SimWaiting | None = None

    def add(self, kind: str, text: str, node: str | None = None) -> None:
        if self.waiting is None:  # past the point where the caller is waiting, nothing happened
            self.steps.append(SimStep(kind, node if node is not None else self.node, text))

    def prompt_text(self, key: str) -> str:
        lang, _, prompt_id = key.partition("/")
        if self.prompts.has(prompt_id, lang):
            return f"[{key}] {self.prompts.text(prompt_id, lang)}"
        return f"[{key}]"


class _Recorder:
    def __init__(self, log: _Log) -> None:
        self._log = log

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        self._log.add("start", f"call into flow {flow} (language {language})")

    def publish(self, event: Event) -> None:
        """The flow's facts, told as the call's timeline would record them."""
        row = fact_row(event)
        if row is None:
            return
        kind, node, data = row.kind, row.node, row.data
        if kind is CallEventKind.NODE_ENTERED:
            self._log.node = node
            self._log.add("node", f"{node} ({data.get('kind', '')})", node)
        elif kind is CallEventKind.INPUT:
            said = data.get("transcript") or data.get("digits") or ""
            key = data.get("key")
            self._log.add("input", f"{data.get('mode')}: {said!r}" + (f" → option {key}" if key else ""), node)
        elif kind in (CallEventKind.NO_INPUT, CallEventKind.NO_MATCH):
            self._log.add(kind.value, kind.value.replace("_", " "), node)
        elif kind is CallEventKind.SCHEDULE:
            self._log.add("schedule", ", ".join(f"{k}={v}" for k, v in data.items()), node)
        elif kind in (CallEventKind.VARIABLE_SET, CallEventKind.LANGUAGE_SET):
            self._log.add("variable", ", ".join(f"{k}={v}" for k, v in data.items()), node)
        elif kind is CallEventKind.ERROR:
            self._log.add("error", str(data.get("error", data)), node)

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        self._log.add("end", f"the call ends: {disposition.value}")


class _Queues:
    def __init__(self, log: _Log) -> None:
        self._log = log

    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome:
        self._log.add("would", f"would wait in queue {request.queue!r} (priority {request.priority}); "
                               "simulated as answered by an agent")
        return QueueOutcome(QueueOutcomeKind.CONNECTED, waited_seconds=0.0, agent_id="simulated")


class _Callbacks:
    def __init__(self, log: _Log) -> None:
        self._log = log

    async def request(self, req: CallbackRequest) -> CallbackTicket:
        when = req.not_before or datetime.now(UTC)
        self._log.add("would", f"would book a callback for queue {req.queue!r} ({req.source.value}), "
                               f"not before {when:%Y-%m-%d %H:%M} UTC")
        return CallbackTicket(callback_id="simulated", scheduled_for=when)

    async def reached_agent(self, number: str, queue: str) -> None:
        return None


class _Deflection:
    def __init__(self, log: _Log) -> None:
        self._log = log

    async def channels_for(self, number: str) -> list[MessageChannel]:
        return [MessageChannel.SMS]

    async def send_link(self, req: DeflectionRequest) -> LinkTicket:
        self._log.add("would", f"would send a link by {(req.channel or MessageChannel.SMS).value} ({req.reason})")
        return LinkTicket(link_id="simulated", reference="SIM-0000", url="(not sent)", channel=MessageChannel.SMS)

    async def declined(self, number: str, reason: str) -> None:
        self._log.add("would", f"the caller declines the link offer ({reason})")


class _Caller(ScriptedChannel):
    """The scripted caller; when its inputs run out at a question, the call waits there."""

    sim_log: _Log

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        if not self.remaining:
            self._check()
            self._played(prompts)
            self.sim_log.waiting = SimWaiting(self.sim_log.node, keys=spec.max_digits > 0,
                                              speech=spec.grammar is not None)
            self._leave("waiting for the next input")
            raise CallerHungUp("the simulation waits for the caller")
        return await super().collect(prompts, spec)

    def _played(self, prompts: Sequence[PromptFile]) -> None:
        for p in prompts:
            if isinstance(p, PromptFile):
                self.sim_log.add("prompt", self.sim_log.prompt_text(p.key))
        super()._played(prompts)


@dataclass(frozen=True, slots=True)
class _ScheduleAt:
    """The real schedules, asked about the simulated moment instead of now."""

    schedules: ScheduleLookup
    at: datetime

    def names(self) -> list[str]:
        return self.schedules.names()

    async def status(self, name: str, at: datetime | None = None) -> ScheduleStatus:
        return await self.schedules.status(name, at or self.at)

    def next_open(self, name: str, after: datetime) -> datetime | None:
        return self.schedules.next_open(name, self.at)


class _Provider:
    def __init__(self, flow: Flow) -> None:
        self.flow_set = FlowSet([flow], {flow.name: "draft"})
        self._flow = flow

    def current_for(self, dialled: str) -> Flow:
        return self._flow

    def by_name(self, name: str) -> Flow:
        return self._flow


class _Engine(FlowEngine):
    """The real engine; it keeps the call's run to report the variables at the end."""

    last: CallRun | None = None

    async def _drive(self, run: CallRun) -> Disposition:
        self.last = run
        return await super()._drive(run)


class Simulator:
    def __init__(self, prompts: PromptCatalogue, schedules: ScheduleLookup | None, settings: Settings,
                 *, concurrent: int = 4) -> None:
        self._prompts = prompts
        self._schedules = schedules
        self._settings = settings
        self._slots = asyncio.Semaphore(concurrent)
        self._running = 0
        self._limit = concurrent

    async def run(self, flow: Flow, inputs: list[SimInput], *, language: str | None = None,
                  at: datetime | None = None) -> SimResult:
        """``at``: the moment the schedules are asked about (default: now)."""
        if self._running >= self._limit:
            raise SimulatorBusy(f"{self._limit} simulations are already running; try again shortly")
        self._running += 1
        try:
            async with self._slots:
                return await self._run(flow, inputs[:MAX_INPUTS], language, at)
        finally:
            self._running -= 1

    async def _run(self, flow: Flow, inputs: list[SimInput], language: str | None, at: datetime | None) -> SimResult:
        log = _Log(self._prompts)
        services = Services(recorder=_Recorder(log), queues=_Queues(log), callbacks=_Callbacks(log),
                            deflection=_Deflection(log), history=None)
        # The grammar is what is simulated: words are matched whether or not this server has a recognizer.
        update: dict[str, object] = {"speech": self._settings.speech.model_copy(update={"enabled": True})}
        if language is not None and language in flow.languages:
            update["default_language"] = language
        settings = self._settings.model_copy(update=update)
        schedules = self._schedules
        if schedules is not None and at is not None:
            schedules = _ScheduleAt(schedules, at)
        engine = _Engine(_Provider(flow), services, self._prompts, schedules, settings=settings,
                         lookup=DemoOrderLookup(), max_steps=MAX_STEPS)
        caller = _Caller(script=[i.action() for i in inputs],
                         call_info=scripted_info(caller=SIM_CALLER, call_id="simulation", flow_hint=flow.name))
        caller.sim_log = log
        token = current_call_id.set(caller.info.call_id)  # where a simulated call enters, as a backend does
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                disposition = await engine.run(caller)
        except TimeoutError:
            log.add("error", f"the simulation did not finish within {DEADLINE_SECONDS:g} s")
            disposition = Disposition.FAILED
        finally:
            current_call_id.reset(token)
        run = engine.last
        return SimResult(
            steps=log.steps, waiting=log.waiting,
            disposition=None if log.waiting is not None else disposition.value,
            variables=dict(run.ctx.variables) if run is not None else {},
            language=run.ctx.language if run is not None else None,
        )


__all__ = ["MAX_INPUTS", "SimInput", "SimResult", "SimStep", "SimWaiting", "Simulator", "SimulatorBusy"]
