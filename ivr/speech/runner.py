"""Decoding off the event loop: a bounded pool, a queue with a deadline, and shedding when saturated.

A recognizer listens on the loop (endpointing and buffering cost microseconds a frame) and decodes
once, at the endpoint, in the pool. Engines that hold the GIL while decoding (PocketSphinx) or cost
a tenth of a second a turn (Whisper) decode in worker processes (ivr.speech.worker_process), so the
loop that paces RTP never waits for them; each worker has a lane for each (ivr.speech.worker.Lane)
and a turn goes to the worker whose lane has the fewest waiting. The other engines (Vosk: cffi
releases the GIL) decode in threads beside their one shared model. At most ``max_pending``
utterances wait or decode at once: past that a new menu turn is keys only, and an utterance that
waited past ``deadline`` is not decoded (the turn falls back to keys). Both are counted as shed.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from ivr.channel import Grammar
from ivr.speech import worker
from ivr.speech.base import (
    Decoded,
    PartialResult,
    RecognizerSession,
    SpeechEngine,
    SpeechError,
    SpeechResult,
    SpeechShed,
)
from ivr.speech.worker_process import WorkerDied, WorkerProcess

log = logging.getLogger(__name__)

T = TypeVar("T")
LATENCY_WINDOW = 2048
# Utterances an engine with a cheaper stand-in (``under_load``: Whisper -> PocketSphinx) may have
# waiting or decoding per worker; past that the stand-in hears the turn. One: Whisper hears a turn
# when its lane is free, else PocketSphinx hears it at once on its own lane. A turn queued behind a
# Whisper decode (~190 ms under load on 2 cores) waits that long before its own: with two per
# worker, bench/speech_load.py's p95 at 200 calls was 499 ms, with one 277 ms.
HEAVY_PER_WORKER = 1


@dataclass
class SpeechStats:
    """Counters for /metrics (``puente_speech_*``) and the benchmarks."""

    decoded: int = 0
    shed_open: int = 0  # menu turns that started keys only: the pool was saturated
    shed_late: int = 0  # utterances not decoded: saturated at the endpoint, or past the deadline
    failed: int = 0
    fell_back: int = 0  # utterances the engine's cheaper stand-in decoded: its lane was busy
    # End of the caller's audio -> result, seconds (recent window).
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    @property
    def shed(self) -> int:
        return self.shed_open + self.shed_late

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class SpeechRunner:
    """``workers=None`` borrows the event loop's default (bounded) executor and decodes in threads."""

    def __init__(self, workers: int | None = 2, *, max_pending: int | None = None, deadline: float = 2.0,
                 processes: bool = True) -> None:
        self.workers = max(1, workers or 1)
        self._threads: ThreadPoolExecutor | None = None
        if workers is not None:
            self._threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="speech")
        self._use_processes = processes and workers is not None
        self._processes: list[WorkerProcess] = []
        self.max_pending = max_pending if max_pending is not None else self.workers * 8
        self.deadline = deadline
        self.pending = 0  # utterances queued or decoding
        self.heavy_pending = 0  # of which for engines with a cheaper stand-in (under_load)
        self.live = 0  # recognizers open (each: an endpointer and a bounded buffer)
        self.stats = SpeechStats()

    @property
    def worker_pids(self) -> list[int]:
        """The worker processes running now (none until the first isolated engine warms or decodes)."""
        return [p.pid for p in self._processes if p.pid is not None]

    @property
    def saturated(self) -> bool:
        return self.pending >= self.max_pending

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    async def open(self, engine: SpeechEngine, grammar: Grammar) -> AsyncRecognizer:
        """A recognizer for one menu turn; :class:`SpeechShed` when the pool is saturated."""
        if self.saturated:
            self.stats.shed_open += 1
            raise SpeechShed(f"speech pool saturated ({self.pending} utterances waiting): keys only")
        # A loaded engine opens in microseconds (no decoder is taken); the first one loads in the pool.
        session = engine.new_session(grammar) if engine.ready else await self.call(engine.new_session, grammar)
        self.live += 1
        return AsyncRecognizer(self, engine, session)

    async def warm(self, engine: SpeechEngine) -> None:
        """Load the model (and, for worker processes, each worker's decoders) before the first call."""
        if engine.under_load is not None:
            await self.warm(engine.under_load)  # ready before the first busy minute needs it
        if not engine.ready:
            await self.call(engine.load)
        if engine.isolated and self._use_processes:
            spec = worker.spec_of(engine)
            await asyncio.gather(*(asyncio.wrap_future(process.submit(worker.lane_of(spec), worker.warm, spec))
                                   for process in self._pool()))

    async def decode(self, engine: SpeechEngine, session: RecognizerSession, ended: float) -> SpeechResult:
        """The utterance decoded in the pool; ``ended`` = when its last audio arrived (perf_counter)."""
        if self.saturated:
            session.close()
            self.stats.shed_late += 1
            raise SpeechShed(f"speech pool saturated ({self.pending} utterances waiting): keys only")
        audio, span = session.take_audio()
        deadline = time.monotonic() + self.deadline
        target = self._engine_for_load(engine)
        heavy = target.under_load is not None
        self.pending += 1
        self.heavy_pending += heavy
        try:
            decoded = await self._run(target, session, audio, span, deadline)
        finally:
            self.pending -= 1
            self.heavy_pending -= heavy
        if isinstance(decoded, worker.Late):
            self.stats.shed_late += 1
            raise SpeechShed(f"utterance waited {self.deadline + decoded.waited:.2f} s for a decoder: keys only")
        latency = time.perf_counter() - ended
        self.stats.decoded += 1
        self.stats.latencies.append(latency)
        return session.conclude(decoded, latency_ms=round(latency * 1000, 2))

    def _engine_for_load(self, engine: SpeechEngine) -> SpeechEngine:
        """The engine, or its cheaper stand-in while the engine's own lanes are busy (counted)."""
        if engine.under_load is None or self.heavy_pending < self.workers * HEAVY_PER_WORKER:
            return engine
        self.stats.fell_back += 1
        return engine.under_load

    async def _run(self, engine: SpeechEngine, session: RecognizerSession, audio: bytes,
                   span: tuple[int, int] | None, deadline: float) -> Decoded | worker.Late:
        process: WorkerProcess | None = None
        try:
            if engine.isolated and self._use_processes:
                spec = worker.spec_of(engine)
                lane = worker.lane_of(spec)
                process = min(self._pool(), key=lambda p: p.outstanding(lane))
                job = worker.DecodeJob(spec, session.grammar, audio, span, deadline)
                decoded: Decoded | worker.Late = await asyncio.wrap_future(process.submit(lane, worker.decode, job))
                return decoded
            return await self.call(_decode_here, engine, session, audio, span, deadline)
        except WorkerDied as exc:
            # The worker died (killed, out of memory): a new one takes its place, this turn gets keys.
            self.stats.failed += 1
            if process is not None:
                self._replace(process)
            raise SpeechError("a speech worker process died; it is restarted") from exc
        except SpeechError:
            self.stats.failed += 1
            raise
        except Exception as exc:  # a decoder fault is this turn's problem only
            self.stats.failed += 1
            raise SpeechError(f"decoding failed: {exc}") from exc

    def _pool(self) -> list[WorkerProcess]:
        if not self._processes:
            self._processes = [_spawn() for _ in range(self.workers)]
        return self._processes

    def _replace(self, dead: WorkerProcess) -> None:
        if dead in self._processes:
            self._processes[self._processes.index(dead)] = _spawn()
            dead.stop(wait=False)

    def shutdown(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
        processes, self._processes = self._processes, []
        for process in processes:
            process.stop(wait=True)


def _spawn() -> WorkerProcess:
    # spawn, not fork: the server process has threads and an event loop running.
    return WorkerProcess(multiprocessing.get_context("spawn"))


def _decode_here(engine: SpeechEngine, session: RecognizerSession, audio: bytes, span: tuple[int, int] | None,
                 deadline: float) -> Decoded | worker.Late:
    now = time.monotonic()
    if now > deadline:
        return worker.Late(now - deadline)
    return engine.decode(session.grammar, audio, span)


class AsyncRecognizer:
    """One utterance, awaited from the event loop. Always ``finish()`` or ``close()`` it."""

    def __init__(self, runner: SpeechRunner, engine: SpeechEngine, session: RecognizerSession) -> None:
        self._runner = runner
        self._engine = engine
        self._session = session
        self._last_audio_at: float | None = None
        self._closed = False

    @property
    def speech_started(self) -> bool:
        return self._session.speech_started

    @property
    def is_endpoint(self) -> bool:
        return self._session.is_endpoint

    async def accept(self, pcm: bytes) -> PartialResult | None:
        """Endpointing and buffering, on the loop (microseconds): no pool hop per frame."""
        self._last_audio_at = time.perf_counter()
        return self._session.accept(pcm)

    async def finish(self) -> SpeechResult:
        """Decode in the pool; :class:`SpeechShed` / :class:`SpeechError` mean keys for this turn."""
        if self._closed:
            raise RuntimeError("the recognizer is closed")
        self._closed = True
        self._runner.live -= 1
        ended = self._last_audio_at or time.perf_counter()
        return await self._runner.decode(self._engine, self._session, ended)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._runner.live -= 1
            self._session.close()
