"""What every engine's session shares: endpointing, the utterance buffer, and mapping the transcript to a key.

A session is cheap per-call state: the endpointer and the caller's audio (bounded). Listening costs
microseconds per 20 ms frame and runs where the audio arrives (the event loop); the decoder works
once per utterance, on the whole of it, at the endpoint (``finish``), through the engine's
``decode``, which a :class:`~ivr.speech.runner.SpeechRunner` runs in a bounded pool off the loop.
No decoder is held while the caller listens to a prompt or speaks.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from ivr.channel import Grammar
from ivr.speech.audio import Endpointer
from ivr.speech.base import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    Decoded,
    EmptyGrammar,
    EndpointConfig,
    PartialResult,
    SpeechResult,
)
from ivr.speech.denoise import Denoiser
from ivr.speech.grammar import NO_MATCH, CompiledGrammar, compile_grammar

# Audio kept from before the speech started: the denoiser's noise estimate and the decoder's
# leading silence (the prompt time before it is dropped, so a long prompt costs no decoding).
LEAD_BYTES = SAMPLE_RATE * SAMPLE_WIDTH  # 1 s
# A hard bound on the buffer whatever the endpointer says (12 s at 8 kHz: 192 KB).
MAX_BYTES = 12 * SAMPLE_RATE * SAMPLE_WIDTH
# The decoders hear the speech with this much of the line around it (the denoiser hears it all):
# decoding costs in proportion to the audio.
DECODE_BEFORE_MS = 500
DECODE_AFTER_MS = 600
_BYTES_PER_MS = SAMPLE_RATE * SAMPLE_WIDTH // 1000


def denoised(pcm: bytes) -> bytes:
    """The whole utterance through the streaming denoiser (same hops as live, plus its tail)."""
    denoiser = Denoiser()
    return denoiser.process(pcm) + denoiser.flush()


def prepared(pcm: bytes, span: tuple[int, int] | None, *, denoise: bool) -> bytes:
    """What the decoder hears: the line cleaned over all of it (noise estimate), then cut to the speech."""
    audio = denoised(pcm) if denoise else pcm
    if span is not None:
        # The denoiser delays by a hop (128 samples): the speech sits that much later in its output.
        shift = 256 if denoise else 0
        start, end = span
        audio = audio[start + shift:end + shift]
    return audio


def open_vocabulary_session(engine: UtteranceDecoder, grammar: Grammar, endpoint: EndpointConfig, *,
                            min_match_score: float) -> DecodingSession:
    """A session for an engine that can hear any phrase (Whisper, Moonshine): the whole grammar."""
    compiled = compile_grammar(grammar)
    if not compiled.phrases:
        raise EmptyGrammar(f"the {grammar.language} grammar has no phrase")
    return DecodingSession(engine, compiled, endpoint, min_match_score=min_match_score)


class UtteranceDecoder(Protocol):
    """What a :class:`DecodingSession` needs of its engine."""

    name: str

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded: ...


class DecodingSession:
    """One utterance, every engine's session: listens cheaply, and at the end (``finish``, or the
    runner's pool) its engine decodes it once (``engine.decode``)."""

    def __init__(self, engine: UtteranceDecoder, grammar: CompiledGrammar, endpoint: EndpointConfig, *,
                 min_match_score: float, reject_below: float = 0.0) -> None:
        self._engine = engine
        self.engine_name = engine.name
        self.grammar = grammar
        self._endpointer = Endpointer(endpoint)
        self._min_match_score = min_match_score
        # An engine confidence below this means the speech was not one of the grammar's phrases.
        self._reject_below = reject_below
        self._chunks: deque[bytes] = deque()
        self._bytes = 0
        self._dropped = 0  # bytes of lead-in let go: the buffer starts this far into the audio fed
        self._done = False

    @property
    def speech_started(self) -> bool:
        return self._endpointer.speech_started

    @property
    def is_endpoint(self) -> bool:
        return self._endpointer.is_endpoint

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def accept(self, pcm: bytes) -> PartialResult | None:
        """Endpointing and buffering only: a few microseconds, safe on the event loop."""
        if self._done:
            raise RuntimeError("the session is finished")
        was_started = self._endpointer.speech_started
        self._endpointer.feed(pcm)
        if self._bytes + len(pcm) <= MAX_BYTES:
            self._chunks.append(pcm)
            self._bytes += len(pcm)
        if not self._endpointer.speech_started:
            while self._bytes - len(self._chunks[0]) >= LEAD_BYTES:
                gone = len(self._chunks.popleft())
                self._bytes -= gone
                self._dropped += gone
        elif not was_started:
            return PartialResult(text="", speech_started=True)
        return None

    def take_audio(self) -> tuple[bytes, tuple[int, int] | None]:
        """The utterance (raw 8 kHz slin) and the byte span of its speech (None: no speech heard);
        the session then holds nothing."""
        if self._done:
            raise RuntimeError("the session is finished")
        self._done = True
        audio = b"".join(self._chunks)
        self._chunks.clear()
        self._bytes = 0
        start_ms = self._endpointer.speech_start_ms
        if start_ms is None:
            return audio, None
        start = max(0, (start_ms - DECODE_BEFORE_MS) * _BYTES_PER_MS - self._dropped)
        end = min(len(audio), (self._endpointer.speech_end_ms + DECODE_AFTER_MS) * _BYTES_PER_MS - self._dropped)
        return audio, (start, max(start, end))

    def finish(self) -> SpeechResult:
        """Decode here, in this thread (tests, benchmarks): the server goes through the runner."""
        started = time.perf_counter()
        audio, span = self.take_audio()
        decoded = self._decode(audio, span)
        return self.conclude(decoded, latency_ms=(time.perf_counter() - started) * 1000)

    def conclude(self, decoded: Decoded, *, latency_ms: float) -> SpeechResult:
        """The decoder's answer mapped to the menu's key."""
        self._done = True
        match = self.grammar.match(decoded.transcript, min_score=self._min_match_score)
        if decoded.confidence < self._reject_below:
            match = NO_MATCH
        confidence = round(max(0.0, min(1.0, decoded.confidence)) * match.score, 3) if match.key else 0.0
        return SpeechResult(transcript=decoded.transcript, key=match.key, confidence=confidence,
                            engine=self.engine_name, latency_ms=latency_ms)

    def close(self) -> None:
        self._done = True
        self._chunks.clear()
        self._bytes = 0

    def _decode(self, pcm: bytes, span: tuple[int, int] | None) -> Decoded:
        """Decode the utterance (raw 8 kHz slin; ``span``: the bytes that hold speech) with the engine."""
        return self._engine.decode(self.grammar, pcm, span)
