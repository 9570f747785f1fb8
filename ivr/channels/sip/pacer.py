"""One clock for every outgoing RTP stream: a 20 ms tick on absolute deadlines.

A task per call waking 50 times a second costs a loop wake-up per frame and lets lateness pile
up with the number of calls. Here one task wakes per tick and sends the next frame of every
active stream; each frame's lateness against the tick's deadline is recorded. A deadline missed
by more than 200 ms (a stalled loop) restarts the clock instead of bursting to catch up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ivr.channels.sip.stats import FRAME_SAMPLES, FRAME_SECONDS, PacingStats

log = logging.getLogger("ivr.sip.pacer")

_RESYNC_SECONDS = 0.2


class PacedSession(Protocol):
    """What the pacer sends to (:class:`ivr.channels.sip.media.RtpSession`, which owns a pacer)."""

    def send_frame_at(self, payload: bytes, now: float, *, first: bool) -> None: ...

    def fail(self, exc: Exception) -> None: ...


@dataclass(eq=False)
class _Stream:
    session: PacedSession
    audio: bytes
    stop: Callable[[], bool] | None
    done: asyncio.Future[bool]
    offset: int = 0
    frames: int = field(default=0)


class Pacer:
    def __init__(self, stats: PacingStats) -> None:
        self.stats = stats
        self._streams: list[_Stream] = []
        self._work = asyncio.Event()

    @property
    def active(self) -> int:
        return len(self._streams)

    async def play(self, session: PacedSession, audio: bytes, stop: Callable[[], bool] | None) -> bool:
        """Send ``audio`` (encoded G.711) from the next tick on; True if it all went out."""
        stream = _Stream(session, audio, stop, asyncio.get_running_loop().create_future())
        self._streams.append(stream)
        self._work.set()
        try:
            return await stream.done
        finally:
            if stream in self._streams:  # cancelled while playing
                self._streams.remove(stream)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._work.wait()
            start, tick = loop.time(), 0
            while self._streams:
                deadline = start + tick * FRAME_SECONDS
                delay = deadline - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = loop.time()
                if now - deadline > _RESYNC_SECONDS:
                    start, tick, deadline = now, 0, now
                self._tick(loop, deadline)
                tick += 1
            self._work.clear()

    def _tick(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        for stream in list(self._streams):
            if stream.done.done():
                self._streams.remove(stream)
                continue
            try:
                self._step(stream, loop, deadline)
            except Exception as exc:  # noqa: BLE001 - one call's fault must not stop every call's audio
                self._fail(stream, exc)

    def _step(self, stream: _Stream, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if stream.stop is not None and stream.stop():
            self._finish(stream, False)
            return
        now = loop.time()
        stream.session.send_frame_at(
            stream.audio[stream.offset : stream.offset + FRAME_SAMPLES], now, first=stream.frames == 0
        )
        self.stats.record(now - deadline)
        stream.offset += FRAME_SAMPLES
        stream.frames += 1
        if stream.offset >= len(stream.audio):
            self._finish(stream, True)

    def _fail(self, stream: _Stream, exc: Exception) -> None:
        """The stream's call hears no more of it: its session fails (counted, logged, call ended)."""
        if stream in self._streams:
            self._streams.remove(stream)
        stream.session.fail(exc)
        if not stream.done.done():
            stream.done.set_result(False)  # stopped, as a hang-up stops it: the call is being ended

    def _finish(self, stream: _Stream, completed: bool) -> None:
        self._streams.remove(stream)
        if not stream.done.done():
            stream.done.set_result(completed)
