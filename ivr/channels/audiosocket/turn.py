"""One menu turn's state: prompt, keys and speech racing each other, and the timeouts between them.

Pure of I/O apart from the recognizer calls, so the rules read in one place:
- a key or speech starting stops the prompt (when ``spec.barge_in``);
- the no-input timeout counts from the end of the prompt; after a key, the inter-digit timeout;
- a key cancels speech (keys win); ``max_digits`` or the terminator end key entry;
- speech ends at the recognizer's endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from ivr.channel import InputMode, InputResult, InputSpec
from ivr.speech.base import SpeechError
from ivr.speech.runner import AsyncRecognizer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    result: InputResult
    # The AudioSocket closed under us (Asterisk's inactivity timer, a network fault): whether the
    # caller is still there is for the AGI channel to say, never this socket.
    media_lost: bool = False


# Caller audio kept while the recognizer is still being built (it is opened after the prompt has
# started, so Asterisk never waits in silence): 5 s (80 KB), fed to it once it is ready.
EARLY_AUDIO_FRAMES = 250


class Turn:
    def __init__(self, spec: InputSpec, recognizer: AsyncRecognizer | None, *, prompt_playing: bool,
                 awaiting_recognizer: bool = False) -> None:
        self.spec = spec
        self.barge_in = asyncio.Event()
        self._recognizer = recognizer
        # Audio comes before the recognizer: keep the newest frames for it (bounded).
        self._early: deque[bytes] | None = deque(maxlen=EARLY_AUDIO_FRAMES) if awaiting_recognizer else None
        self._digits = ""
        now = time.monotonic()
        self._prompt_playing = prompt_playing
        self._deadline: float | None = None if prompt_playing else now + spec.first_timeout
        self._speech = False

    def prompt_finished(self) -> None:
        self._prompt_playing = False
        if not self._digits and not self._speech:
            self._deadline = time.monotonic() + self.spec.first_timeout

    def time_left(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def _interrupt(self) -> None:
        if self.spec.barge_in:
            self.barge_in.set()

    async def attach(self, recognizer: AsyncRecognizer) -> TurnOutcome | None:
        """The recognizer is ready: feed it what the caller said meanwhile, then live audio. A key
        pressed meanwhile won (keys win over speech): it is closed at once."""
        early, self._early = self._early, None
        if self._digits or early is None:
            await recognizer.close()
            return None
        self._recognizer = recognizer
        for pcm in early:
            outcome = await self.audio(pcm)
            if outcome is not None or self._recognizer is None:
                return outcome
        return None

    def recognizer_failed(self) -> None:
        """Speech is off for this turn (the recognizer could not be built): keys only."""
        self._early = None

    async def audio(self, pcm: bytes) -> TurnOutcome | None:
        if self._recognizer is None and self._early is not None and not self._digits:
            self._early.append(pcm)
            return None
        if self._recognizer is None or self._digits:
            return None
        try:
            await self._recognizer.accept(pcm)
        except Exception:
            # A decoder failure must not cost the caller the menu: keys keep working.
            log.exception("speech recognizer failed mid-utterance, keys only")
            await self.close()
            self._speech = False
            return None
        if self._recognizer.speech_started and not self._speech:
            self._speech = True
            self._interrupt()
            self._deadline = None  # the endpointer's own limits end the utterance
        if self._recognizer.is_endpoint:
            if not self._speech:
                return await self.timed_out()  # the utterance limit passed in silence
            return await self._finish_speech()
        return None

    async def digit(self, digit: str) -> TurnOutcome | None:
        self._interrupt()
        self._early = None
        if self._recognizer is not None:
            await self._recognizer.close()  # keys win over speech
            self._recognizer = None
            self._speech = False
        if digit == self.spec.terminator and self.spec.terminator:
            return self._digits_result()
        self._digits += digit
        if len(self._digits) >= self.spec.max_digits:
            return self._digits_result()
        self._deadline = time.monotonic() + self.spec.inter_digit_timeout
        return None

    async def timed_out(self) -> TurnOutcome:
        if self._digits:
            return self._digits_result()
        if self._speech and self._recognizer is not None:
            return await self._finish_speech()
        return TurnOutcome(InputResult(InputMode.NONE))

    def _digits_result(self) -> TurnOutcome:
        if not self._digits:
            return TurnOutcome(InputResult(InputMode.NONE))
        return TurnOutcome(InputResult(InputMode.DTMF, digits=self._digits))

    def media_lost(self) -> TurnOutcome:
        """The socket closed mid-turn: the keys typed so far stand; with none, the turn is redone
        with keys only (``media_lost``)."""
        self._early = None
        if self._digits:
            return TurnOutcome(InputResult(InputMode.DTMF, digits=self._digits), media_lost=True)
        return TurnOutcome(InputResult(InputMode.NONE), media_lost=True)

    async def _finish_speech(self) -> TurnOutcome:
        assert self._recognizer is not None
        recognizer, self._recognizer = self._recognizer, None
        try:
            return TurnOutcome((await recognizer.finish()).as_input())
        except SpeechError as exc:
            # Shed (pool saturated) or a decoder fault: not understood, the flow asks again and keys
            # work as always; counted in puente_speech_shed / puente_speech_failed.
            log.warning("speech not decoded, keys only: %s", exc)
            return TurnOutcome(InputResult(InputMode.SPEECH, transcript="", key=None, confidence=0.0))

    async def close(self) -> None:
        self._early = None
        if self._recognizer is not None:
            recognizer, self._recognizer = self._recognizer, None
            await recognizer.close()
