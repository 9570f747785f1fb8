"""What a speech worker process runs: decode one utterance with an engine built from its spec.

``ProcessPoolExecutor`` gives a worker no other place for state than its module: the engines are
kept here per process (one model and one decoder pair per engine and language, reused for every
utterance that worker decodes). Nothing in the server process touches this cache.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ivr.speech.base import Decoded, SpeechEngine
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, PocketSphinxSpec
from ivr.speech.grammar import CompiledGrammar

_ENGINES: dict[PocketSphinxSpec, PocketSphinxEngine] = {}  # this worker process's models (see above)


@dataclass(frozen=True, slots=True)
class DecodeJob:
    spec: PocketSphinxSpec
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


def lower_priority() -> None:
    """ProcessPoolExecutor initializer: run this worker below the event loop's priority."""
    os.nice(WORKER_NICENESS)


def warm(spec: PocketSphinxSpec) -> int:
    """Load the engine and build its decoders before the first caller needs them."""
    engine = _engine(spec)
    engine.decode(CompiledGrammar(spec.language, {"zero": "0"} if spec.language.startswith("en") else
                                  {"cero": "0"}), b"\x00\x00" * 1600)
    return engine.decoders_created


def decode(job: DecodeJob) -> Decoded | Late:
    now = time.monotonic()
    if now > job.deadline:
        return Late(now - job.deadline)
    return _engine(job.spec).decode(job.grammar, job.pcm, job.span)


def spec_of(engine: SpeechEngine) -> PocketSphinxSpec:
    """The description a worker builds ``engine`` from; only PocketSphinx decodes in workers (it holds
    the GIL), so any other engine sent here is a wiring mistake."""
    spec = engine.spec
    if not isinstance(spec, PocketSphinxSpec):
        raise TypeError(f"{engine.name} cannot decode in a worker process")
    return spec


def _engine(spec: PocketSphinxSpec) -> PocketSphinxEngine:
    engine = _ENGINES.get(spec)
    if engine is None:
        engine = _ENGINES[spec] = PocketSphinxEngine.from_spec(spec, pool_size=1)
        engine.load()
    return engine
