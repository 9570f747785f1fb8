"""What every engine's session shares: endpointing, timing, and mapping the transcript to a key."""

from __future__ import annotations

import abc
import time

from ivr.speech.audio import Endpointer
from ivr.speech.base import EndpointConfig, PartialResult, SpeechResult
from ivr.speech.denoise import Denoiser
from ivr.speech.grammar import NO_MATCH, CompiledGrammar


class EngineSession(abc.ABC):
    """Template for engine sessions: subclasses feed the decoder and read its final hypothesis."""

    engine_name: str = "?"

    def __init__(self, grammar: CompiledGrammar, endpoint: EndpointConfig, *, min_match_score: float,
                 denoise: bool = True, reject_below: float = 0.0) -> None:
        self._grammar = grammar
        self._endpointer = Endpointer(endpoint)
        # The endpointer hears the line as it is; the decoder hears it cleaned.
        self._denoiser = Denoiser() if denoise else None
        self._min_match_score = min_match_score
        # An engine confidence below this means the speech was not one of the grammar's phrases.
        self._reject_below = reject_below
        self._partial = ""
        self._done = False

    @property
    def speech_started(self) -> bool:
        return self._endpointer.speech_started

    @property
    def is_endpoint(self) -> bool:
        return self._endpointer.is_endpoint or self._engine_endpoint()

    def accept(self, pcm: bytes) -> PartialResult | None:
        if self._done:
            raise RuntimeError("the session is finished")
        was_started = self._endpointer.speech_started
        self._endpointer.feed(pcm)
        audio = self._denoiser.process(pcm) if self._denoiser is not None else pcm
        text = self._feed(audio) if audio else None  # the denoiser holds back less than a hop
        if text is not None and text != self._partial:
            self._partial = text
            return PartialResult(text=text, speech_started=self.speech_started)
        if self.speech_started and not was_started:
            return PartialResult(text=self._partial, speech_started=True)
        return None

    def finish(self) -> SpeechResult:
        if self._done:
            raise RuntimeError("the session is finished")
        started = time.perf_counter()
        try:
            if self._denoiser is not None and (tail := self._denoiser.flush()):
                self._feed(tail)
            transcript, engine_confidence = self._final()
        finally:
            self._done = True
            self.close()
        match = self._grammar.match(transcript, min_score=self._min_match_score)
        if engine_confidence < self._reject_below:
            match = NO_MATCH
        confidence = round(max(0.0, min(1.0, engine_confidence)) * match.score, 3) if match.key else 0.0
        return SpeechResult(
            transcript=transcript,
            key=match.key,
            confidence=confidence,
            engine=self.engine_name,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self._done = True
        self._release()

    def _engine_endpoint(self) -> bool:
        return False

    @abc.abstractmethod
    def _feed(self, pcm: bytes) -> str | None:
        """Feed audio to the decoder; return the current partial text (None: not available)."""

    @abc.abstractmethod
    def _final(self) -> tuple[str, float]:
        """End the utterance: (transcript, engine confidence in [0, 1])."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Give decoder resources back (idempotent)."""
