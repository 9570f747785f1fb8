"""The recognizer seam: engines, per-utterance sessions and their results.

Audio everywhere is telephone audio: 8 kHz, signed 16-bit little-endian, mono (``slin``). Engines
that need another rate convert inside their session.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ivr.channel import Grammar, InputMode, InputResult

if TYPE_CHECKING:
    from ivr.speech.grammar import CompiledGrammar

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * SAMPLE_WIDTH * FRAME_MS // 1000  # 320


@dataclass(frozen=True, slots=True)
class Decoded:
    """What an engine's decoder made of an utterance."""

    transcript: str
    confidence: float  # the engine's own, in [0, 1]


class SpeechError(Exception):
    """Recognition could not run (engine missing, model unreadable)."""


class ModelMissing(SpeechError):
    """The configured model is not on disk."""


class EmptyGrammar(SpeechError):
    """No phrase of the grammar can be recognised by this engine (e.g. all words unknown)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """When an utterance is over: trailing silence after speech, or a hard length limit."""

    silence_ms: int = 700
    max_utterance_ms: int = 10_000
    # Frames above the speech threshold in a row before we call it speech (barge-in trigger).
    start_frames: int = 3


@dataclass(frozen=True, slots=True)
class PartialResult:
    text: str
    speech_started: bool


@dataclass(frozen=True, slots=True)
class SpeechResult:
    transcript: str
    key: str | None  # the grammar key matched; None = no match
    confidence: float
    engine: str
    latency_ms: float  # from the end of the audio to this result

    def as_input(self) -> InputResult:
        """What the flow engine gets from a menu answered by voice (any backend)."""
        return InputResult(
            mode=InputMode.SPEECH,
            transcript=self.transcript,
            key=self.key,
            confidence=self.confidence,
            engine=self.engine,
            latency_ms=self.latency_ms,
        )


class SpeechShed(SpeechError):
    """The decoding pool is saturated (or the utterance waited past its deadline): keys this turn."""


@runtime_checkable
class RecognizerSession(Protocol):
    """One utterance: cheap listening (``accept``), one decode at the end. Not thread-safe."""

    def accept(self, pcm: bytes) -> PartialResult | None:
        """Feed 8 kHz slin (endpointing and buffering only); a partial result when speech starts."""
        ...

    @property
    def speech_started(self) -> bool: ...

    @property
    def is_endpoint(self) -> bool:
        """True once speech was followed by enough silence, or the utterance ran too long."""
        ...

    def take_audio(self) -> tuple[bytes, tuple[int, int] | None]:
        """The utterance for the decoder (raw 8 kHz slin) and the byte span of its speech."""
        ...

    def conclude(self, decoded: Decoded, *, latency_ms: float) -> SpeechResult:
        """The engine's :class:`Decoded` mapped to the menu's key."""
        ...

    def finish(self) -> SpeechResult:
        """Decode in this thread and return the mapped result; the session is then spent."""
        ...

    def close(self) -> None:
        """Drop the buffered audio (idempotent)."""
        ...

    @property
    def grammar(self) -> CompiledGrammar: ...


@runtime_checkable
class SpeechEngine(Protocol):
    name: str
    language: str
    # True when decoding holds the GIL or most of a core (PocketSphinx, Whisper): the runner then
    # decodes in worker processes.
    isolated: bool

    @property
    def ready(self) -> bool:
        """The model is loaded: ``new_session`` is then cheap enough for the event loop."""
        ...

    @property
    def under_load(self) -> SpeechEngine | None:
        """A cheaper engine for the same language that the runner decodes with while this one's
        lanes are busy (Whisper -> PocketSphinx: speech rather than keys under load), or None."""
        ...

    @property
    def spec(self) -> Hashable:
        """A picklable description a worker process builds the same engine from (the worker
        checks it is one of the engines it can build: ``ivr.speech.worker.spec_of``)."""
        ...

    def load(self) -> None:
        """Load the model now (blocking: run it in a pool)."""
        ...

    def new_session(self, grammar: Grammar) -> RecognizerSession: ...

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        """One utterance -> :class:`Decoded` (runs in the pool)."""
        ...
