"""The callback call script: what happens on the answered first leg.

Agent-first: the agent hears the context ("Callback. Support queue. The customer waited 4 minutes.
In the menu they chose 2 1. Calling the customer now."), gets the screen pop (``AgentConnected``
with the stored context), then the customer is dialled from the agent's channel and bridged.
Customer-first: the customer hears why we are calling, then joins the queue with top priority.

On Asterisk this runs as the FastAGI script ``callback`` (dialplan: ``AGI(agi://<puente>/callback,
${CALLBACK_ID})``); the callback id comes from the AGI argument or ``GET VARIABLE CALLBACK_ID``.
On the built-in endpoint the dispatcher runs it on the channel ``originate`` returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from callbacks.language import callback_language
from callbacks.models import AttemptOutcome
from callbacks.origination.base import outcome_of_dial
from callbacks.policy import CallbackMode
from callbacks.sessions import CallbackCall, CallOutcome, SessionRegistry
from callbacks.values import Callback
from ivr.acd.types import AgentAssignment
from ivr.channel import CallerHungUp, CallInfo, Channel, ChannelError, ConnectResult, DialStatus, PromptFile
from ivr.context import CallContext
from ivr.events import EventBus
from ivr.events.types import AgentConnected
from ivr.ports import CallRecorder, Disposition, QueueOutcomeKind, QueueRequest, QueueService
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.speech_numbers import say_digits, say_duration

log = logging.getLogger(__name__)

P_AGENT_INTRO = "callbacks/agent_intro"
P_AGENT_WAITED = "callbacks/agent_waited"
P_AGENT_CHOSE = "callbacks/agent_chose"
P_AGENT_CONNECTING = "callbacks/agent_connecting"
P_CUSTOMER_INTRO = "callbacks/customer_intro"


class ScriptArguments(Protocol):
    """The AGI environment (``ivr.channels.agi.environment.AgiEnvironment``) as the script reads it."""

    @property
    def arguments(self) -> tuple[str, ...]: ...


class AgiScriptChannel(Channel, Protocol):
    """What the AGI server hands a script: a Channel with the AGI environment and variables."""

    @property
    def env(self) -> ScriptArguments: ...

    async def get_variable(self, name: str) -> str | None: ...


class ScriptAcd(QueueService, Protocol):
    """What the script asks of the ACD: queue the customer, release the agent it reserved."""

    async def finish_assignment(self, assignment: AgentAssignment, result: ConnectResult) -> None: ...


@dataclass
class ScriptDeps:
    bus: EventBus
    prompts: PromptCatalogue | None
    acd: ScriptAcd | None  # None: no agent is reserved or released (tests, tools)
    default_language: str = "es"
    recorder: CallRecorder | None = None
    languages: tuple[str, ...] = ("es", "en")


def callback_lang(cb: Callback, deps: ScriptDeps) -> str:
    """The language stored with the callback (its call's, or its number's history, chosen when it was
    requested); for a callback stored without one, the number's country, then the default."""
    return callback_language(chosen=cb.language, history=None, number=cb.number, supported=deps.languages,
                             default=deps.default_language)


# --------------------------------------------------------------------------- what is said


def agent_briefing(prompts: PromptCatalogue, call: CallbackCall, lang: str) -> list[PromptFile]:
    cb = call.callback
    ids = [P_AGENT_INTRO, f"callbacks/for_queue/{cb.queue}"]
    files = [prompts.file(i, lang) for i in ids if prompts.has(i, lang)]
    waited = max(cb.waited_seconds, 0.0)
    if waited >= 1 and prompts.has(P_AGENT_WAITED, lang):
        files += [prompts.file(P_AGENT_WAITED, lang), *say_duration(prompts, waited, lang)]
    chosen = [str(i.get("digits") or "") for i in (cb.context or {}).get("inputs") or () if i.get("digits")]
    if chosen and prompts.has(P_AGENT_CHOSE, lang):
        files.append(prompts.file(P_AGENT_CHOSE, lang))
        for digits in chosen[:4]:
            files += say_digits(prompts, digits, lang)
    if prompts.has(P_AGENT_CONNECTING, lang):
        files.append(prompts.file(P_AGENT_CONNECTING, lang))
    return files


# --------------------------------------------------------------------------- the script


async def run_call(channel: Channel, call: CallbackCall, deps: ScriptDeps) -> CallOutcome:
    """Run the script on the answered leg; never raises for a hangup (it is an outcome). The call
    is recorded in the call store like an inbound one (flow ``callback``), with the customer's number."""
    recorder = deps.recorder
    info = _customer_info(channel.info, call.callback.number)
    lang = callback_lang(call.callback, deps)
    await _record(recorder, "start", info, lang)
    disposition = Disposition.FAILED
    try:
        if call.mode is CallbackMode.AGENT_FIRST:
            outcome = await _agent_first(channel, call, deps)
        else:
            outcome = await _customer_first(channel, call, deps)
        disposition = outcome.disposition
        return outcome
    finally:
        await _record(recorder, "end", info, lang, disposition)


async def _record(recorder: CallRecorder | None, what: str, info: CallInfo, lang: str,
                  disposition: Disposition = Disposition.FAILED) -> None:
    """Recording never disturbs the call (the store fails open, and so does this)."""
    if recorder is None:
        return
    try:
        if what == "start":
            await recorder.call_started(info, flow="callback", language=lang)
        else:
            await recorder.call_ended(info.call_id, disposition, language=lang)
    except Exception:
        log.exception("could not record the callback call")


_QUEUE_DISPOSITION = {
    QueueOutcomeKind.CONNECTED: Disposition.CONNECTED,
    QueueOutcomeKind.ABANDONED: Disposition.ABANDONED,
    QueueOutcomeKind.OVERFLOW: Disposition.OVERFLOW,
    QueueOutcomeKind.CALLBACK: Disposition.CALLBACK,
    QueueOutcomeKind.DEFLECTED: Disposition.DEFLECTED,
    QueueOutcomeKind.UNAVAILABLE: Disposition.FAILED,
}


async def _agent_first(channel: Channel, call: CallbackCall, deps: ScriptDeps) -> CallOutcome:
    cb = call.callback
    lang = callback_lang(cb, deps)
    if call.assignment is not None:
        deps.bus.publish(AgentConnected(agent_id=call.assignment.agent_id, call_id=f"callback:{cb.id}",
                                        queue=cb.queue, context={**(cb.context or {}), "callback_id": cb.id}))
    started = datetime.now(UTC)
    try:
        prompts = deps.prompts
        if prompts is not None:
            files = agent_briefing(prompts, call, lang)
            if files:
                await channel.play(files)
        result = await channel.connect(call.customer_target, timeout=call.policy.customer_ring_seconds,
                                       caller_id=call.caller_id)
    except CallerHungUp:
        # the agent left before the customer was dialled: not the customer's attempt
        talk = (datetime.now(UTC) - started).total_seconds()
        return CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.ANSWER, talk_seconds=talk),
                           detail="the agent hung up before the customer was dialled", counted=False)
    except ChannelError as exc:
        # dialling the customer failed outright (e.g. a misconfigured trunk): it counts, so a broken
        # customer leg cannot make us ring agents forever
        talk = (datetime.now(UTC) - started).total_seconds()
        return CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.ANSWER, talk_seconds=talk),
                           detail=f"customer leg failed: {exc}")
    outcome = outcome_of_dial(result.status)
    talk = (datetime.now(UTC) - started).total_seconds()
    connected = result.status is DialStatus.ANSWER
    return CallOutcome(outcome, ConnectResult(DialStatus.ANSWER, talk_seconds=talk, peer=result.peer),
                       detail=f"customer leg {result.status.value}",
                       disposition=Disposition.CONNECTED if connected else Disposition.FAILED)


async def _customer_first(channel: Channel, call: CallbackCall, deps: ScriptDeps) -> CallOutcome:
    cb = call.callback
    lang = callback_lang(cb, deps)
    acd = deps.acd
    released = False
    try:
        prompts = deps.prompts
        if prompts is not None and prompts.has(P_CUSTOMER_INTRO, lang):
            await channel.play([prompts.file(P_CUSTOMER_INTRO, lang)])
        if acd is None:
            return CallOutcome(AttemptOutcome.ANSWERED, ConnectResult(DialStatus.CANCEL),
                               detail="answered; no ACD to queue in")
        if call.assignment is not None:
            # the reserved agent goes back to the line, where this customer is now first
            await acd.finish_assignment(call.assignment, ConnectResult(DialStatus.CANCEL))
            released = True
        ctx = CallContext(info=_customer_info(channel.info, cb.number), flow="callback", language=lang,
                          variables={"callback_id": cb.id}, queue=cb.queue, waited_seconds=cb.waited_seconds)
        outcome = await acd.wait_in_queue(channel, QueueRequest(queue=cb.queue, context=ctx,
                                                                priority=call.policy.customer_priority))
        detail = f"answered; queue {outcome.kind.value}"
        disposition = _QUEUE_DISPOSITION[outcome.kind]
        if outcome.kind is QueueOutcomeKind.UNAVAILABLE:
            detail = "answered; the queue had no agents"
    except CallerHungUp:
        detail = "answered; the customer hung up before an agent took the call"
        disposition = Disposition.CALLER_HANGUP
    agent_leg = None if released else ConnectResult(DialStatus.CANCEL)
    return CallOutcome(AttemptOutcome.ANSWERED, agent_leg, detail=detail, disposition=disposition)


def _customer_info(info: CallInfo, number: str) -> CallInfo:
    return CallInfo(call_id=info.call_id, caller=number, dialled=info.dialled, backend=info.backend,
                    started_at=info.started_at, linked_id=info.linked_id, channel_name=info.channel_name)


# --------------------------------------------------------------------------- FastAGI entry


def agi_script(registry: SessionRegistry, deps: ScriptDeps) -> Callable[[AgiScriptChannel], Awaitable[None]]:
    """The handler registered as ``agi_scripts["callback"]``."""

    async def handler(channel: AgiScriptChannel) -> None:
        args = channel.env.arguments
        callback_id = args[0] if args and args[0] else await channel.get_variable("CALLBACK_ID")
        call = registry.get(callback_id or "")
        try:  # the AGI server tagged this task's log lines with the call's id when it accepted it
            if call is None:
                log.error("callback AGI for a callback this process is not dialling",
                          extra={"callback_id": callback_id})
                return
            call.picked_up.set()
            try:
                outcome = await run_call(channel, call, deps)
            except Exception as exc:
                log.exception("callback script failed", extra={"callback_id": callback_id})
                outcome = CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.CANCEL), detail=repr(exc))
            call.resolve(outcome)
        finally:
            if call is not None:  # cancelled mid-script: the dispatcher must not wait for nothing
                call.resolve(CallOutcome(AttemptOutcome.FAILED, ConnectResult(DialStatus.CANCEL),
                                         detail="the call script was interrupted"))
            await channel.hangup()

    return handler
