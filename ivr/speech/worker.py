"""What a speech worker process runs: decode one utterance with an engine built from its spec.

The process (started by ivr.speech.worker_process) runs :func:`serve`: jobs arrive over a pipe and
each goes to its lane, a thread of its own: Whisper (and the Moonshine it hands noisy lines to) on
the heavy lane, PocketSphinx on the light one, so a cheap turn never waits behind an expensive one.
The engines are kept here per process (one model, and for PocketSphinx one decoder, per engine and
language, reused for every utterance this worker decodes, whichever lane). Nothing in the server
process touches this cache.
"""

from __future__ import annotations

import ctypes
import enum
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

from threadpoolctl import threadpool_limits

from ivr.speech.base import Decoded, SpeechEngine
from ivr.speech.engines.moonshine_model import MoonshineModels
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, PocketSphinxSpec
from ivr.speech.engines.whisper import WhisperEngine, WhisperModels, WhisperSpec
from ivr.speech.grammar import CompiledGrammar

WorkerSpec = PocketSphinxSpec | WhisperSpec  # the engines that decode in worker processes
WorkerEngine = PocketSphinxEngine | WhisperEngine
_ENGINES: dict[WorkerSpec, WorkerEngine] = {}  # this worker process's models (see above)
_ENGINES_LOCK = threading.RLock()  # both lanes may build engines (an RLock: Whisper builds its PocketSphinx)
_WHISPER_MODELS = WhisperModels()  # one Whisper model for every language's engine here
_MOONSHINE_MODELS = MoonshineModels()  # and one Moonshine (English's noisy lines)


class Lane(enum.Enum):
    """Where a job runs in its worker process: each lane is one thread, taking its jobs in order."""

    HEAVY = "heavy"  # Whisper: a tenth of a second or more of CPU a turn, the GIL let go while it computes
    LIGHT = "light"  # PocketSphinx: tens of milliseconds, holding the GIL


# On the pipe: (job id, lane, a module-level function, its arguments); in a lane, without the lane.
Job = tuple[int, Lane, Callable[..., Any], tuple[Any, ...]]
LaneJob = tuple[int, Callable[..., Any], tuple[Any, ...]]


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
    """ProcessPoolExecutor initializer: run this worker below the event loop's priority, on one
    thread, and end it with the server.

    One thread: a worker decodes one utterance at a time, and the engines already run their own
    math on one thread each; numpy's OpenBLAS would otherwise start a thread per core for Whisper's
    feature extraction, and those threads spin after each product (a Whisper decode cost 282 ms of
    CPU for 176 ms of work, on 2 cores): CPU taken from the event loop and from the next decode.
    A server that is killed or crashes cannot shut its pool down; without PR_SET_PDEATHSIG its
    workers would go on as orphans, finishing a model load or a decode (a second of CPU each) for
    nobody. (The signal is tied to the thread that started the worker: the event loop's.)"""
    os.nice(WORKER_NICENESS)
    threadpool_limits(limits=1)  # lasts for the process (never restored)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def serve(conn: Connection) -> None:
    """The worker process's main loop: jobs ``(id, lane, fn, args)`` in, replies ``(id, ok, value)``
    out, until the server sends ``None`` or goes away."""
    start()
    sending = threading.Lock()
    inboxes: dict[Lane, queue.SimpleQueue[LaneJob | None]] = {
        lane: queue.SimpleQueue() for lane in Lane}
    lanes = [threading.Thread(target=_run_lane, args=(inboxes[lane], conn, sending), name=f"speech-{lane.value}")
             for lane in Lane]
    for thread in lanes:
        thread.start()
    try:
        while (message := _next_job(conn)) is not None:
            job, lane, fn, args = message
            inboxes[lane].put((job, fn, args))
    finally:
        for inbox in inboxes.values():
            inbox.put(None)
        for thread in lanes:
            thread.join()


def _next_job(conn: Connection) -> Job | None:
    try:
        message: Job | None = conn.recv()
    except (EOFError, OSError):  # the server is gone
        return None
    return message


def _run_lane(inbox: queue.SimpleQueue[LaneJob | None], conn: Connection,
              sending: threading.Lock) -> None:
    while (item := inbox.get()) is not None:
        job, fn, args = item
        try:
            reply = (job, True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - this job's failure goes to its caller; the lane goes on
            reply = (job, False, exc)
        try:
            data = bytes(ForkingPickler.dumps(reply))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an unpicklable error: its text travels
            data = bytes(ForkingPickler.dumps((job, False, RuntimeError(f"{type(reply[2]).__name__}: {reply[2]} "
                                                                         f"(unpicklable reply: {exc})"))))
        try:
            with sending:
                conn.send_bytes(data)
        except OSError:  # the server is gone (this process ends with it: PR_SET_PDEATHSIG)
            return


def lane_of(spec: WorkerSpec) -> Lane:
    return Lane.LIGHT if isinstance(spec, PocketSphinxSpec) else Lane.HEAVY


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
    with _ENGINES_LOCK:
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
