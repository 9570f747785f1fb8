"""Listening for speech and keys over AudioSocket, for the AGI channel (and, audio-only, for SIP).

``listen_via_audiosocket`` runs ``EXEC AudioSocket <uuid>,<host:port>`` on the AGI session (which
blocks until we hang the socket up) while, on the socket, it streams the prompt (stopped by
barge-in), feeds the caller's audio to the recognizer and collects DTMF.

Media trouble never costs the caller the call: app_audiosocket closes a socket with no frame
either way for 2 s (round3 captures; the caller is still up and ``EXEC AudioSocket`` answers
``200 result=-1``), so the prompt or a silence keep-alive goes out from the start and the
recognizer is built beside it; a socket that closes anyway, or never connects, makes that turn
keys only. Only the AGI channel says the caller hung up.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ivr.channel import ChannelError, Grammar, InputMode, InputResult, InputSpec
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


# app_audiosocket closes a socket with no frame either way for 2000 ms (round3 captures): while
# the prompt does not play, a silence frame goes out whenever we have sent nothing for this long.
KEEPALIVE_SECONDS = 0.5


async def listen_via_audiosocket(
    server: AudioSocketServer,
    agi_exec: Callable[[str], Awaitable[Any]],
    *,
    advertised: str,
    prompt_pcm: bytes,
    engine: SpeechEngine | None,
    spec: InputSpec,
    runner: SpeechRunner | None = None,
    keepalive: float = KEEPALIVE_SECONDS,
) -> InputResult | None:
    """One menu turn over AudioSocket.

    None means the media failed with the caller still on the line (EXEC AudioSocket ended before
    Asterisk connected, or the socket closed mid-turn with no key typed): the caller then gets the
    same turn with keys only. Whether the caller is gone is only ever the AGI channel's word
    (``agi_exec`` raises :class:`CallerHungUp` on its ``HANGUP`` / ``511``), never this socket's."""
    call_uuid = uuid.uuid4()
    expected = server.expect(call_uuid)
    exec_task: asyncio.Task[Any] = asyncio.ensure_future(agi_exec(f"AudioSocket {call_uuid},{advertised}"))
    outcome: TurnOutcome | None = None
    try:
        session = await _wait_session(expected.future, exec_task, server.connect_timeout)
        if session is not None:
            try:
                outcome = await _converse(session, prompt_pcm, engine, spec, runner or SpeechRunner(None),
                                         keepalive=keepalive)
            finally:
                await session.hangup()  # 0x00 then close: EXEC AudioSocket returns "200 result=0"
        await exec_task  # the AGI side's verdict: CallerHungUp & co. are raised here
    finally:
        expected.cancel()
        if not exec_task.done():
            # Only reached when we failed before the socket was ours: the AGI command is still
            # pending and cannot be taken back, so give Asterisk time to give up on it.
            await asyncio.wait({exec_task}, timeout=server.connect_timeout)
            exec_task.cancel()
            await asyncio.gather(exec_task, return_exceptions=True)  # owned to the end, never leaked
    if outcome is None:
        log.warning("EXEC AudioSocket ended before Asterisk connected: keys only for this turn")
        return None
    if outcome.media_lost:
        log.warning("the AudioSocket closed with the caller still on the line: keys only for this turn",
                    extra={"digits": bool(outcome.result.digits)})
        return outcome.result if outcome.result.mode is InputMode.DTMF else None
    return outcome.result


async def _wait_session(future: asyncio.Future[AudioSocketSession], exec_task: asyncio.Task[Any],
                        timeout: float) -> AudioSocketSession | None:
    """The session, or None when EXEC AudioSocket ended without connecting (app missing, network,
    caller gone: the caller awaits ``exec_task`` for the AGI side's word on that)."""
    done, _ = await asyncio.wait({future, exec_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if future in done:
        return future.result()
    if exec_task in done:
        return None
    # Asterisk neither connected nor gave up: let it give up (its own connect timeout) first.
    await asyncio.wait({exec_task}, timeout=timeout)
    if exec_task.done():
        return None
    raise ChannelError(f"Asterisk did not connect to the AudioSocket server within {timeout:.1f} s")


class PromptDone:
    """The prompt ended (played out or barged in): the no-input clock starts."""


class RecognizerReady:
    """The recognizer opened in the background is ready."""

    def __init__(self, recognizer: AsyncRecognizer) -> None:
        self.recognizer = recognizer


class RecognizerFailed:
    """It could not be opened: keys only for this turn."""


TurnEvent = SocketEvent | PromptDone | RecognizerReady | RecognizerFailed


async def _converse(session: AudioSocketSession, prompt_pcm: bytes, engine: SpeechEngine | None,
                    spec: InputSpec, runner: SpeechRunner, *, keepalive: float) -> TurnOutcome:
    # The prompt (or the keep-alive) starts first; the recognizer is built meanwhile (it may take
    # seconds under load) and takes over the audio that came in the meantime.
    speech = engine is not None and spec.grammar is not None
    turn = Turn(spec, None, prompt_playing=bool(prompt_pcm), awaiting_recognizer=speech)
    events: asyncio.Queue[TurnEvent] = asyncio.Queue()
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(_pump(session, events)), tg.create_task(_keep_alive(session, keepalive))]
            if prompt_pcm:
                tasks.append(tg.create_task(_play(session, prompt_pcm, turn, events)))
            if speech:
                assert engine is not None and spec.grammar is not None
                tasks.append(tg.create_task(_open(runner, engine, spec.grammar, events)))
            try:
                outcome = await _loop(turn, events)
            finally:
                turn.barge_in.set()  # stops the prompt if it still runs
                for task in tasks:
                    task.cancel()
    finally:
        await turn.close()
        while not events.empty():  # a recognizer that got ready after the turn ended
            event = events.get_nowait()
            if isinstance(event, RecognizerReady):
                await event.recognizer.close()
    return outcome


async def _open(runner: SpeechRunner, engine: SpeechEngine, grammar: Grammar,
                events: asyncio.Queue[TurnEvent]) -> None:
    try:
        recognizer = await runner.open(engine, grammar)
    except SpeechError as exc:
        # Fail open: the caller can still press keys; one line says why speech is off.
        log.warning("speech recognizer unavailable, keys only: %s", exc, extra={"language": grammar.language})
        events.put_nowait(RecognizerFailed())
        return
    events.put_nowait(RecognizerReady(recognizer))


async def _keep_alive(session: AudioSocketSession, every: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()  # the socket is fresh: Asterisk's timer starts now, the prompt may follow
    while not session.closed:
        last = session.last_sent
        idle = loop.time() - (started if last is None else max(last, started))
        if idle >= every:
            await session.send_silence()
            continue
        await asyncio.sleep(every - idle)


async def _pump(session: AudioSocketSession, events: asyncio.Queue[TurnEvent]) -> None:
    async for event in session.events():
        events.put_nowait(event)


async def _play(session: AudioSocketSession, pcm: bytes, turn: Turn, events: asyncio.Queue[TurnEvent]) -> None:
    await session.send_audio(pcm, stop=turn.barge_in)
    events.put_nowait(PromptDone())


async def _loop(turn: Turn, events: asyncio.Queue[TurnEvent]) -> TurnOutcome:
    while True:
        timeout = turn.time_left()
        try:
            event = await asyncio.wait_for(events.get(), timeout) if timeout is not None else await events.get()
        except TimeoutError:
            return await turn.timed_out()
        outcome: TurnOutcome | None = None
        if isinstance(event, PromptDone):
            turn.prompt_finished()
        elif isinstance(event, RecognizerReady):
            outcome = await turn.attach(event.recognizer)
        elif isinstance(event, RecognizerFailed):
            turn.recognizer_failed()
        elif isinstance(event, AudioIn):
            outcome = await turn.audio(event.pcm)
        elif isinstance(event, DtmfIn):
            outcome = await turn.digit(event.digit)
        elif isinstance(event, ErrorIn):
            log.warning("audiosocket error frame from Asterisk", extra={"code": event.code.hex()})
        else:
            assert isinstance(event, Closed)
            if event.reason is CloseReason.PROTOCOL_ERROR:
                return await turn.timed_out()
            # Closed by Asterisk (its inactivity timer, a fault, or a hangup: only the AGI side
            # can tell which).
            return turn.media_lost()
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
