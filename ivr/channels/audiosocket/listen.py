"""Listening for speech and keys over AudioSocket, for the AGI channel (and, audio-only, for SIP).

``listen_via_audiosocket`` runs ``EXEC AudioSocket <uuid>,<host:port>`` on the AGI session (which
blocks until we hang the socket up) while, on the socket, it streams the prompt (stopped by
barge-in), feeds the caller's audio to the recognizer and collects DTMF.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ivr.channel import CallerHungUp, ChannelError, Grammar, InputMode, InputResult, InputSpec
from ivr.channels.audiosocket.server import (
    AudioIn,
    AudioSocketServer,
    AudioSocketSession,
    Closed,
    CloseReason,
    DtmfIn,
    ErrorIn,
    SocketEvent,
)
from ivr.channels.audiosocket.turn import Turn, TurnOutcome
from ivr.speech.base import SpeechEngine, SpeechError, SpeechResult
from ivr.speech.runner import AsyncRecognizer, SpeechRunner

log = logging.getLogger(__name__)


async def listen_via_audiosocket(
    server: AudioSocketServer,
    agi_exec: Callable[[str], Awaitable[Any]],
    *,
    advertised: str,
    prompt_pcm: bytes,
    engine: SpeechEngine | None,
    spec: InputSpec,
    runner: SpeechRunner | None = None,
) -> InputResult:
    """One menu turn over AudioSocket. Raises :class:`CallerHungUp` if the caller leaves."""
    call_uuid = uuid.uuid4()
    expected = server.expect(call_uuid)
    exec_task: asyncio.Task[Any] = asyncio.ensure_future(agi_exec(f"AudioSocket {call_uuid},{advertised}"))
    try:
        session = await _wait_session(expected.future, exec_task, server.connect_timeout)
        try:
            outcome = await _converse(session, prompt_pcm, engine, spec, runner or SpeechRunner(None))
        finally:
            await session.hangup()  # 0x00 then close: EXEC AudioSocket returns "200 result=0"
        await exec_task
    finally:
        expected.cancel()
        if not exec_task.done():
            # Only reached when we failed before the socket was ours: the AGI command is still
            # pending and cannot be taken back, so give Asterisk time to give up on it.
            await asyncio.wait({exec_task}, timeout=server.connect_timeout)
            exec_task.cancel()
            await asyncio.gather(exec_task, return_exceptions=True)  # owned to the end, never leaked
    if outcome.caller_gone:
        raise CallerHungUp("the caller hung up during AudioSocket")
    return outcome.result


async def _wait_session(future: asyncio.Future[AudioSocketSession], exec_task: asyncio.Task[Any],
                        timeout: float) -> AudioSocketSession:
    done, _ = await asyncio.wait({future, exec_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if future in done:
        return future.result()
    if exec_task in done:
        exec_task.result()  # re-raises CallerHungUp & co. from the AGI side
        raise ChannelError("EXEC AudioSocket ended before Asterisk connected")
    raise ChannelError(f"Asterisk did not connect to the AudioSocket server within {timeout:.1f} s")


async def _converse(session: AudioSocketSession, prompt_pcm: bytes, engine: SpeechEngine | None,
                    spec: InputSpec, runner: SpeechRunner) -> TurnOutcome:
    recognizer: AsyncRecognizer | None = None
    if engine is not None and spec.grammar is not None:
        try:
            recognizer = await runner.open(engine, spec.grammar)
        except SpeechError:
            # Fail open: the caller can still press keys; the log says why speech is off.
            log.exception("speech recognizer unavailable, keys only", extra={"language": spec.grammar.language})
    turn = Turn(spec, recognizer, prompt_playing=bool(prompt_pcm))
    events: asyncio.Queue[SocketEvent | PromptDone] = asyncio.Queue()
    try:
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(_pump(session, events))
            player = tg.create_task(_play(session, prompt_pcm, turn, events)) if prompt_pcm else None
            try:
                outcome = await _loop(turn, events)
            finally:
                turn.barge_in.set()  # stops the prompt if it still runs
                reader.cancel()
                if player is not None:
                    player.cancel()
    finally:
        await turn.close()
    return outcome


class PromptDone:
    """The prompt ended (played out or barged in): the no-input clock starts."""


async def _pump(session: AudioSocketSession, events: asyncio.Queue[SocketEvent | PromptDone]) -> None:
    async for event in session.events():
        events.put_nowait(event)


async def _play(session: AudioSocketSession, pcm: bytes, turn: Turn,
                events: asyncio.Queue[SocketEvent | PromptDone]) -> None:
    await session.send_audio(pcm, stop=turn.barge_in)
    events.put_nowait(PromptDone())


async def _loop(turn: Turn, events: asyncio.Queue[SocketEvent | PromptDone]) -> TurnOutcome:
    while True:
        timeout = turn.time_left()
        try:
            event = await asyncio.wait_for(events.get(), timeout) if timeout is not None else await events.get()
        except TimeoutError:
            return await turn.timed_out()
        if isinstance(event, PromptDone):
            turn.prompt_finished()
            outcome = None
        elif isinstance(event, AudioIn):
            outcome = await turn.audio(event.pcm)
        elif isinstance(event, DtmfIn):
            outcome = await turn.digit(event.digit)
        elif isinstance(event, ErrorIn):
            log.warning("audiosocket error frame from Asterisk", extra={"code": event.code.hex()})
            outcome = None
        else:
            assert isinstance(event, Closed)
            if event.reason in (CloseReason.PEER_CLOSED, CloseReason.HANGUP_FRAME):
                return TurnOutcome(InputResult(InputMode.NONE), caller_gone=True)
            return await turn.timed_out()
        if outcome is not None:
            return outcome


async def recognize_stream(
    frames: AsyncIterator[bytes],
    engine: SpeechEngine,
    grammar: Grammar,
    *,
    runner: SpeechRunner,
    no_input_timeout: float = 5.0,
    on_speech_start: Callable[[], None] | None = None,
) -> SpeechResult | None:
    """Backend-neutral: feed 8 kHz slin chunks until the endpoint; None when nobody spoke.

    ``no_input_timeout`` counts audio time (not wall time), so it works on live and replayed
    streams alike. ``on_speech_start`` is the barge-in hook (stop the prompt).
    """
    recognizer = await runner.open(engine, grammar)
    try:
        heard_ms = 0.0
        started = False
        async for pcm in frames:
            await recognizer.accept(pcm)
            heard_ms += len(pcm) / 16.0  # 16 bytes per ms at 8 kHz slin
            if recognizer.speech_started and not started:
                started = True
                if on_speech_start is not None:
                    on_speech_start()
            if recognizer.is_endpoint:
                break
            if not started and heard_ms >= no_input_timeout * 1000:
                return None
        if not started:
            return None
        began = time.perf_counter()
        result = await recognizer.finish()
        log.debug("speech recognised", extra={"key": result.key, "ms": (time.perf_counter() - began) * 1000})
        return result
    finally:
        await recognizer.close()
