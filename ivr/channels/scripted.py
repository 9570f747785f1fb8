"""A :class:`~ivr.channel.Channel` whose caller follows a script: the flow editor's call simulator
runs the real engine against it (``ivr/flowadmin/simulate.py``), and the tests of the engine, the
hold loop, offers and anything else that talks to a caller use it too.

The script is a list of caller actions consumed in order by the operations that wait for the
caller: ``collect`` takes the next :class:`Press`, :class:`Say`, :class:`Silence` or
:class:`HangUp`; ``hold`` takes a :class:`Press` (returned when it is an interrupt digit) or a
:class:`HangUp`, otherwise it returns at once (virtual time); ``connect`` takes an
:class:`AgentAnswers` / :class:`AgentFails` when one is next, else the agent answers and the caller
hangs up when the bridge ends. When the script runs out, the caller hangs up.

Everything played and done is kept in :attr:`ScriptedChannel.log` (and ``played`` for prompts).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivr.callcontrol import LiveBridge
from ivr.channel import (
    CallerHungUp,
    CallInfo,
    ConnectResult,
    DialStatus,
    Grammar,
    InputMode,
    InputResult,
    InputSpec,
    PromptFile,
)


@dataclass(frozen=True, slots=True)
class Press:
    """The caller presses keys (all at once, as one input)."""

    digits: str


@dataclass(frozen=True, slots=True)
class Say:
    """The caller speaks; matched against the collect's grammar (exact phrase, else contained)."""

    text: str
    confidence: float = 0.9


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller does nothing until the timeout."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """The caller hangs up at this point."""


@dataclass(frozen=True, slots=True)
class AgentAnswers:
    """The next ``connect`` is answered; afterwards the caller hangs up unless ``caller_stays``."""

    talk_seconds: float = 60.0
    ring_seconds: float = 3.0
    caller_stays: bool = False
    peer: str | None = None


@dataclass(frozen=True, slots=True)
class AgentFails:
    """The next ``connect`` fails with this status."""

    status: DialStatus = DialStatus.NOANSWER
    ring_seconds: float = 15.0


Action = Press | Say | Silence | HangUp | AgentAnswers | AgentFails


@dataclass(frozen=True, slots=True)
class LogEntry:
    op: str  # answer, play, collect, hold, connect, set, hangup
    detail: tuple[str, ...] = ()


class ScriptedBackend(enum.StrEnum):
    """This double's channel kind (recorded with the call as ``scripted``): not a shipped backend."""

    SCRIPTED = "scripted"


def scripted_info(
    *,
    caller: str = "+34600111222",
    dialled: str = "900100200",
    call_id: str = "scripted-1",
    flow_hint: str | None = None,
) -> CallInfo:
    return CallInfo(
        call_id=call_id,
        caller=caller,
        dialled=dialled,
        backend=ScriptedBackend.SCRIPTED,
        started_at=datetime.now(UTC),
        flow_hint=flow_hint,
    )


@dataclass
class ScriptedChannel:
    """A caller that follows ``script``. See the module docstring for what consumes what."""

    script: list[Action] = field(default_factory=list)
    call_info: CallInfo = field(default_factory=scripted_info)
    hang_up_on_prompt: str | None = None  # the caller leaves while this prompt key plays
    hang_up_at_op: int | None = None  # the caller leaves at the Nth channel operation (1-based)
    log: list[LogEntry] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    specs: list[InputSpec] = field(default_factory=list)  # every collect's spec, in order
    answered: bool = False
    hung_up_by_us: bool = False
    hold_seconds: float = 0.0  # virtual time spent on hold
    operations: int = 0  # channel operations so far (answer, play, collect, hold, connect, set)
    # False: hold returns at once (virtual time). True: hold really waits up to its seconds, or
    # until ``wake`` is set (for tests of a hold loop that waits for an agent to become free).
    hold_real_time: bool = False

    def __post_init__(self) -> None:
        self._script = list(self.script)
        self._gone = asyncio.Event()

    # ------------------------------------------------------------------ Channel protocol
    @property
    def info(self) -> CallInfo:
        return self.call_info

    @property
    def hung_up(self) -> bool:
        return self._gone.is_set()

    @property
    def remaining(self) -> list[Action]:
        return list(self._script)

    async def wait_hangup(self) -> None:
        await self._gone.wait()

    async def answer(self) -> None:
        self._check()
        self.answered = True
        self.log.append(LogEntry("answer"))

    async def play(self, prompts: Sequence[PromptFile], *, interrupt_digits: str = "") -> str | None:
        self._check()
        self._played(prompts)
        nxt = self._peek()
        if interrupt_digits and isinstance(nxt, Press) and nxt.digits[:1] in interrupt_digits:
            self._script.pop(0)
            return nxt.digits[:1]
        return None

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        self._check()
        self._played(prompts)
        self.specs.append(spec)
        self.log.append(LogEntry("collect", (str(spec.max_digits), "speech" if spec.grammar else "dtmf")))
        action = self._next()
        if isinstance(action, Press):
            digits = action.digits
            if spec.terminator and spec.terminator in digits:
                digits = digits.split(spec.terminator, 1)[0]
            return InputResult(mode=InputMode.DTMF, digits=digits[: spec.max_digits], engine=None)
        if isinstance(action, Say):
            if spec.grammar is None:
                return InputResult(mode=InputMode.NONE)  # keypad only: speech is not heard
            return InputResult(
                mode=InputMode.SPEECH,
                transcript=action.text.lower(),
                key=match_grammar(spec.grammar, action.text),
                confidence=action.confidence,
                engine="scripted",
                latency_ms=1.0,
            )
        if isinstance(action, Silence):
            return InputResult(mode=InputMode.NONE)
        self._leave(f"collect got {type(action).__name__}")
        raise CallerHungUp("caller hung up")

    async def hold(
        self, seconds: float, *, interrupt_digits: str = "", wake: asyncio.Event | None = None
    ) -> str | None:
        self._check()
        self.log.append(LogEntry("hold", (f"{seconds:g}",)))
        nxt = self._peek()
        if isinstance(nxt, HangUp) or nxt is None:
            self._next()
            self._leave("on hold")
            raise CallerHungUp("caller hung up on hold")
        if isinstance(nxt, Press) and interrupt_digits and nxt.digits[:1] in interrupt_digits:
            self._script.pop(0)
            return nxt.digits[:1]
        if isinstance(nxt, Silence):
            self._script.pop(0)
        self.hold_seconds += seconds
        if self.hold_real_time:
            waiters = [asyncio.ensure_future(self._gone.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            try:
                await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)
            if self._gone.is_set():
                raise CallerHungUp("caller hung up on hold")
        else:
            await asyncio.sleep(0)  # let other tasks (an agent becoming free) run
        return None

    async def connect(
        self,
        endpoint: str,
        *,
        timeout: float,
        caller_id: str | None = None,
        on_answer: Callable[[], None] | None = None,
        announce: Sequence[PromptFile] = (),
        bridge: LiveBridge | None = None,
    ) -> ConnectResult:
        self._check()
        self.log.append(LogEntry("connect", (endpoint,)))
        if announce:
            self.log.append(LogEntry("announce", tuple(p.key for p in announce)))
        nxt = self._peek()
        if isinstance(nxt, AgentFails):
            self._script.pop(0)
            return ConnectResult(status=nxt.status, ring_seconds=min(nxt.ring_seconds, timeout))
        if isinstance(nxt, AgentAnswers):
            self._script.pop(0)
            if on_answer is not None:
                on_answer()
            if not nxt.caller_stays:
                self._leave("after the bridge")
            return ConnectResult(
                status=DialStatus.ANSWER,
                ring_seconds=nxt.ring_seconds,
                talk_seconds=nxt.talk_seconds,
                peer=nxt.peer or endpoint,
            )
        if on_answer is not None:
            on_answer()
        self._leave("after the bridge")
        return ConnectResult(status=DialStatus.ANSWER, ring_seconds=1.0, talk_seconds=30.0, peer=endpoint)

    async def set_variable(self, name: str, value: str) -> None:
        self._check()
        self.variables[name] = value
        self.log.append(LogEntry("set", (name, value)))

    async def hangup(self) -> None:
        if not self._gone.is_set():
            self.hung_up_by_us = True
            self.log.append(LogEntry("hangup"))
            self._gone.set()

    # ------------------------------------------------------------------ helpers
    def _check(self) -> None:
        if self._gone.is_set():
            raise CallerHungUp("caller hung up")
        self.operations += 1
        if self.hang_up_at_op is not None and self.operations >= self.hang_up_at_op:
            self._leave(f"at operation {self.operations}")
            raise CallerHungUp("caller hung up")

    def _peek(self) -> Action | None:
        return self._script[0] if self._script else None

    def _next(self) -> Action:
        return self._script.pop(0) if self._script else HangUp()

    def _played(self, prompts: Sequence[PromptFile]) -> None:
        keys = tuple(p.key for p in prompts)
        if keys:
            self.log.append(LogEntry("play", keys))
        for key in keys:
            self.played.append(key)
            if key == self.hang_up_on_prompt:
                self._leave(f"during {key}")
                raise CallerHungUp(f"caller hung up during {key}")

    def _leave(self, why: str) -> None:
        self.log.append(LogEntry("caller_hangup", (why,)))
        self._gone.set()


def match_grammar(grammar: Grammar, text: str) -> str | None:
    """The key of the phrase the utterance says: an exact phrase, else the longest one inside it."""
    said = " ".join(text.lower().split())
    if said in grammar.phrases:
        return grammar.phrases[said]
    inside = [p for p in grammar.phrases if f" {p} " in f" {said} "]
    if not inside:
        return None
    return grammar.phrases[max(inside, key=len)]
