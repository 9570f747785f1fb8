"""Running recognizers off the event loop: a bounded thread pool and an async view of a session.

Decoders are C code that holds no Python state between calls, so each session's calls run in the
pool one after another (awaited in order), while different calls' sessions run side by side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from ivr.channel import Grammar
from ivr.speech.base import PartialResult, RecognizerSession, SpeechEngine, SpeechResult

T = TypeVar("T")


class SpeechRunner:
    """``workers=None`` borrows the event loop's default (bounded) executor instead of owning one."""

    def __init__(self, workers: int | None = 4) -> None:
        self._executor: ThreadPoolExecutor | None = None
        if workers is not None:
            self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="speech")

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self, engine: SpeechEngine, grammar: Grammar) -> AsyncRecognizer:
        session = await self.call(engine.new_session, grammar)
        return AsyncRecognizer(self, session)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


class AsyncRecognizer:
    """One utterance, awaited from the event loop. Always ``finish()`` or ``close()`` it."""

    def __init__(self, runner: SpeechRunner, session: RecognizerSession) -> None:
        self._runner = runner
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
        self._last_audio_at = time.perf_counter()
        return await self._runner.call(self._session.accept, pcm)

    async def finish(self) -> SpeechResult:
        self._closed = True
        ended = self._last_audio_at or time.perf_counter()
        result = await self._runner.call(self._session.finish)
        # From the moment the last audio arrived, including any backlog in the pool.
        return replace(result, latency_ms=round((time.perf_counter() - ended) * 1000, 2))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._runner.call(self._session.close)
