"""What a speech worker process runs: decode one utterance with an engine built from its spec.

``ProcessPoolExecutor`` gives a worker no other place for state than its module: the engines are
kept here per process (one model, and for PocketSphinx one decoder, per engine and language, reused
for every utterance that worker decodes). Nothing in the server process touches this cache.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass

from ivr.speech.base import Decoded, SpeechEngine
from ivr.speech.engines.moonshine_model import MoonshineModels
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, PocketSphinxSpec
from ivr.speech.engines.whisper import WhisperEngine, WhisperModels, WhisperSpec
from ivr.speech.grammar import CompiledGrammar

WorkerSpec = PocketSphinxSpec | WhisperSpec  # the engines that decode in worker processes
WorkerEngine = PocketSphinxEngine | WhisperEngine
_ENGINES: dict[WorkerSpec, WorkerEngine] = {}  # this worker process's models (see above)
_WHISPER_MODELS = WhisperModels()  # one Whisper model for every language's engine here
_MOONSHINE_MODELS = MoonshineModels()  # and one Moonshine (English's noisy lines)


@dataclass(frozen=True, slots=True)
class DecodeJob:
    spec: WorkerSpec
    grammar: CompiledGrammar
    pcm: bytes
    span: tuple[int, int] | None  # the bytes that hold speech
    deadline: float  # time.monotonic() (system-wide on Linux): past it, the job is not worth decoding


@dataclass(frozen=True, slots=True)
class Late:
    """The job waited past its deadline: the turn falls back to keys."""

    waited: float


# Workers yield the CPU to the server process, whose event loop paces RTP every 20 ms: a decode
# that waits a little costs a few ms of latency, a late RTP frame is heard.
WORKER_NICENESS = 10


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start() -> None:
    """ProcessPoolExecutor initializer: run this worker below the event loop's priority, and end it
    with the server. A server that is killed or crashes cannot shut its pool down; without this its
    workers would go on as orphans, finishing a model load or a decode (a second of CPU each) for
    nobody. (The signal is tied to the thread that started the worker: the event loop's.)"""
    os.nice(WORKER_NICENESS)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def warm(spec: WorkerSpec) -> int:
    """Load the engine and build its decoders before the first caller needs them."""
    engine = _engine(spec)
    grammar = CompiledGrammar(spec.language, {"zero": "0"} if spec.language.startswith("en") else {"cero": "0"})
    silence = b"\x00\x00" * 1600
    if isinstance(engine, WhisperEngine):
        engine.warm(grammar, silence)
    else:
        engine.decode(grammar, silence)
    return engine.decoders_created


def decode(job: DecodeJob) -> Decoded | Late:
    now = time.monotonic()
    if now > job.deadline:
        return Late(now - job.deadline)
    return _engine(job.spec).decode(job.grammar, job.pcm, job.span)


def spec_of(engine: SpeechEngine) -> WorkerSpec:
    """The description a worker builds ``engine`` from; only PocketSphinx (it holds the GIL) and
    Whisper (CPU-heavy) decode in workers, so any other engine sent here is a wiring mistake."""
    spec = engine.spec
    if not isinstance(spec, PocketSphinxSpec | WhisperSpec):
        raise TypeError(f"{engine.name} cannot decode in a worker process")
    return spec


def _engine(spec: WorkerSpec) -> WorkerEngine:
    return _pocketsphinx(spec) if isinstance(spec, PocketSphinxSpec) else _whisper(spec)


def _pocketsphinx(spec: PocketSphinxSpec) -> PocketSphinxEngine:
    engine = _ENGINES.get(spec)
    if not isinstance(engine, PocketSphinxEngine):
        engine = PocketSphinxEngine.from_spec(spec, pool_size=1)
        engine.load()
        _ENGINES[spec] = engine
    return engine


def _whisper(spec: WhisperSpec) -> WhisperEngine:
    engine = _ENGINES.get(spec)
    if not isinstance(engine, WhisperEngine):
        # Its PocketSphinx is the one this worker decodes the stand-in's turns with: one decoder.
        engine = WhisperEngine.from_spec(spec, _pocketsphinx(spec.pocketsphinx), _WHISPER_MODELS, _MOONSHINE_MODELS)
        engine.load()
        _ENGINES[spec] = engine
    return engine
