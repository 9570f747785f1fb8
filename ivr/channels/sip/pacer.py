"""One clock for every outgoing RTP stream: a 20 ms tick on absolute deadlines, on a media thread.

This is ``IVR_SIP__MEDIA=thread`` and the media process's fallback (:mod:`ivr.channels.sip.mediaproc`:
the process has a GIL of its own, which this thread shares with the event loop).

One tick sends the next frame of every active stream, and each frame's lateness against the tick's
deadline is recorded. The clock runs on a thread of its own (as media servers keep their timing
off the signalling path): the event loop also serves HTTP and SIP, and a burst there (a flood of
requests, a large body) would otherwise delay every call's audio by as long as it holds the loop.
The thread sleeps until each deadline, sends through its own handle on each call's socket (the
loop's transports are not thread-safe) and never waits on the loop.

Two things still stand between the thread and its deadline: the CPU (the thread asks for a lower
niceness, ``media_niceness``, when the process may) and the GIL, which a busy loop thread gives up
only when asked, after the interpreter's switch interval (5 ms by default): while the media thread
runs, the interval is lowered to ``SWITCH_INTERVAL``.

A deadline missed by more than 200 ms (the machine stalled) restarts the clock instead of bursting
to catch up. A ``stop`` callable is called on the media thread before each frame: it must only read
state (flags, ``Event.is_set``, a clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ivr.channels.sip.stats import FRAME_SAMPLES, FRAME_SECONDS, PacingStats

log = logging.getLogger("ivr.sip.pacer")

_RESYNC_SECONDS = 0.2
SWITCH_INTERVAL = 0.001  # seconds: the longest a busy thread keeps the GIL from the media thread


class PacedSession(Protocol):
    """What the pacer sends to (:class:`ivr.channels.sip.media.RtpSession`, which owns a pacer)."""

    def send_frame_at(self, payload: bytes, now: float, *, first: bool) -> None: ...

    def fail(self, exc: Exception) -> None: ...


@dataclass(eq=False)
class _Stream:
    session: PacedSession
    audio: bytes
    stop: Callable[[], bool] | None
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[bool]
    since: float | None = None  # time.monotonic() the prompt was asked for (None: music, not a prompt)
    offset: int = 0
    frames: int = 0
    # Held while a frame is sent, and to cancel: after play() is left no frame of it goes out.
    lock: threading.Lock = field(default_factory=threading.Lock)
    over: bool = False


class Pacer:
    def __init__(self, stats: PacingStats, *, niceness: int = 0) -> None:
        self.stats = stats
        self.faults = 0  # the clock's own faults (it goes on after each)
        self._niceness = niceness
        self._streams: list[_Stream] = []
        self._lock = threading.Lock()  # guards _streams between the loop and the media thread
        self._work = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved_interval: float | None = None

    @property
    def active(self) -> int:
        return len(self._streams)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def play(self, session: PacedSession, audio: bytes, stop: Callable[[], bool] | None,
                   since: float | None = None) -> bool:
        """Send ``audio`` (encoded G.711) from the next tick on; True if it all went out.

        ``since``: the monotonic time this prompt was asked for; its first frame's delay is recorded."""
        loop = asyncio.get_running_loop()
        stream = _Stream(session, audio, stop, loop, loop.create_future(), since)
        with self._lock:
            self._streams.append(stream)
            self._work.set()
        try:
            return await stream.done
        finally:
            with stream.lock:  # waits for a frame being sent right now, then no more
                stream.over = True
            with self._lock:
                if stream in self._streams:
                    self._streams.remove(stream)

    def forget(self, session: PacedSession) -> None:
        """(The session closes: its sends stop by themselves, ``send_paced`` finds no socket.)"""

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        """Start the media thread and keep it until cancelled (then stop it)."""
        self.start()
        try:
            await asyncio.Future()
        finally:
            self.stop()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._saved_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_interval, SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._main, name="puente-media", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._work.set()
        thread.join(timeout=1.0)  # at most one tick: it checks the flag after each
        if self._saved_interval is not None and sys.getswitchinterval() == min(self._saved_interval, SWITCH_INTERVAL):
            sys.setswitchinterval(self._saved_interval)
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            self._resolve(stream, False)

    # ------------------------------------------------------------------ the media thread
    def _main(self) -> None:
        self._raise_priority()
        while not self._stopping.is_set():
            try:
                self._run()
            except Exception:  # a fault of the clock itself: logged, counted, and the clock goes on
                self.faults += 1
                log.exception("RTP pacer fault; the clock restarts")
                time.sleep(FRAME_SECONDS)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._work.wait()
            start, tick = time.monotonic(), 0
            while self._streams and not self._stopping.is_set():
                deadline = start + tick * FRAME_SECONDS
                delay = deadline - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                now = time.monotonic()
                if now - deadline > _RESYNC_SECONDS:
                    start, tick, deadline = now, 0, now
                self._tick(deadline)
                tick += 1
            with self._lock:
                if not self._streams:
                    self._work.clear()  # under the lock: a play() in between sets it again

    def _raise_priority(self) -> None:
        if self._niceness == 0 or not hasattr(os, "setpriority"):
            return
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._niceness)
        except OSError as exc:
            log.info("the media thread keeps the normal priority (niceness %d needs CAP_SYS_NICE; "
                     "IVR_SIP__MEDIA_NICENESS=0 silences this)", self._niceness, extra={"error": str(exc)})

    def _tick(self, deadline: float) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            with stream.lock:
                if stream.over:
                    continue
                try:
                    self._step(stream, deadline)
                except Exception as exc:  # noqa: BLE001 - one call's fault must not stop every call's audio
                    self._fail(stream, exc)

    def _step(self, stream: _Stream, deadline: float) -> None:
        if stream.stop is not None and stream.stop():
            self._finish(stream, False)
            return
        now = time.monotonic()
        stream.session.send_frame_at(
            stream.audio[stream.offset : stream.offset + FRAME_SAMPLES], now, first=stream.frames == 0
        )
        self.stats.record(now - deadline)
        if stream.frames == 0 and stream.since is not None:
            self.stats.prompt_starts.append(now - stream.since)
        stream.offset += FRAME_SAMPLES
        stream.frames += 1
        if stream.offset >= len(stream.audio):
            self._finish(stream, True)

    def _fail(self, stream: _Stream, exc: Exception) -> None:
        """The stream's call hears no more of it: its session fails (counted, logged, call ended)."""
        stream.session.fail(exc)
        self._finish(stream, False)  # stopped, as a hang-up stops it: the call is being ended

    def _finish(self, stream: _Stream, completed: bool) -> None:
        stream.over = True
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)
        self._resolve(stream, completed)

    @staticmethod
    def _resolve(stream: _Stream, completed: bool) -> None:
        def settle() -> None:
            if not stream.done.done():
                stream.done.set_result(completed)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            stream.loop.call_soon_threadsafe(settle)
