"""Speech input on the built-in endpoint: inbound RTP decoded to 8 kHz PCM feeds a recognizer.

Keys keep working alongside speech; whichever the caller uses first wins, and speech starting
stops the prompt (barge-in) just as a key does. Listening (endpointing, buffering) costs
microseconds a frame; the utterance is decoded once at its end in the speech pool
(``AsyncRecognizer``), off the loop that paces RTP. Audio reaches the recognizer through a bounded
queue so the RTP callback never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ivr.channel import CallInfo, InputMode, InputResult, InputSpec, PromptFile
from ivr.channels.sip.leg import Leg
from ivr.speech.base import SpeechError

if TYPE_CHECKING:
    from ivr.speech.factory import SpeechEngines
    from ivr.speech.runner import AsyncRecognizer

log = logging.getLogger("ivr.sip.speech")


class ListeningChannel(Protocol):
    """What listening needs from the call (:class:`ivr.channels.sip.channel.SipChannel`, which
    listens through this module): its leg's audio, keys alongside, and a wake-up on speech."""

    @property
    def info(self) -> CallInfo: ...

    @property
    def leg(self) -> Leg: ...

    def wake(self) -> None: ...

    async def collect_digits(self, prompts: Sequence[PromptFile], spec: InputSpec,
                             extra_stop: Callable[[], bool] | None = None) -> InputResult: ...

MAX_UTTERANCE_SECONDS = 12.0
# What a turn whose speech could not be decoded answers: spoken, matching nothing.
NOT_UNDERSTOOD = InputResult(InputMode.SPEECH, transcript="", key=None, confidence=0.0)
_QUEUE_FRAMES = 500  # 10 s of 20 ms frames: beyond that the recognizer is hopelessly behind


async def listen(
    channel: ListeningChannel, engines: SpeechEngines, prompts: Sequence[PromptFile], spec: InputSpec
) -> InputResult:
    assert spec.grammar is not None
    engine = engines.engine_for(spec.grammar.language)
    if engine is None:
        return await channel.collect_digits(prompts, spec)
    try:
        recognizer = await engines.runner.open(engine, spec.grammar)
    except SpeechError as exc:
        # Fail open: the caller can still press keys; one line says why speech is off.
        log.warning("speech recognizer unavailable, keys only: %s", exc, extra={"language": spec.grammar.language})
        return await channel.collect_digits(prompts, spec)
    feeder = _Feeder(channel, recognizer)
    listeners = channel.leg.rtp.pcm_listeners
    listeners.append(feeder.push)
    # Not a TaskGroup: CallerHungUp from the body must reach the engine as itself, not wrapped in
    # an ExceptionGroup. The feeder task is still owned: cancelled and awaited below.
    task = asyncio.create_task(feeder.run(), name=f"sip-speech-{channel.info.call_id[:16]}")
    try:
        return await _outcome(channel, prompts, spec, feeder, recognizer)
    finally:
        if feeder.push in listeners:
            listeners.remove(feeder.push)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # the keys still worked; say loudly that speech did not
            log.exception("speech recognition failed during input")
        await recognizer.close()


async def _outcome(
    channel: ListeningChannel, prompts: Sequence[PromptFile], spec: InputSpec, feeder: _Feeder,
    recognizer: AsyncRecognizer,
) -> InputResult:
    keyed = await channel.collect_digits(prompts, spec, extra_stop=feeder.heard.is_set)
    if keyed.mode is InputMode.DTMF or not feeder.heard.is_set():
        return keyed
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(feeder.done.wait(), MAX_UTTERANCE_SECONDS)
    try:
        return (await recognizer.finish()).as_input()
    except SpeechError as exc:
        # Shed (pool saturated) or a decoder fault: this answer is not understood, the flow asks
        # again and keys work as always; counted in puente_speech_shed / puente_speech_failed.
        log.warning("speech not decoded, keys only: %s", exc, extra={"language": spec.grammar.language
                                                                     if spec.grammar else None})
        return NOT_UNDERSTOOD


class _Feeder:
    def __init__(self, channel: ListeningChannel, recognizer: AsyncRecognizer) -> None:
        self._channel = channel
        self._recognizer = recognizer
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=_QUEUE_FRAMES)
        self.heard = asyncio.Event()
        self.done = asyncio.Event()
        self.dropped = 0

    def push(self, pcm: bytes) -> None:
        try:
            self._queue.put_nowait(pcm)
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while not self.done.is_set():
            pcm = await self._queue.get()
            await self._recognizer.accept(pcm)
            if self._recognizer.speech_started and not self.heard.is_set():
                self.heard.set()
                self._channel.wake()
            if self._recognizer.is_endpoint:
                self.done.set()
        if self.dropped:
            log.warning("speech audio dropped", extra={"frames": self.dropped})
