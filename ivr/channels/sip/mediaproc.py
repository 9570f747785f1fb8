"""Paced RTP from a media process (its own GIL), with the media thread as the fallback.

The thread pacer (:mod:`ivr.channels.sip.pacer`) shares the GIL with the event loop; on a loaded
machine the OS preempts the loop thread while it holds the GIL and frames leave 20-30 ms late. So
the clock runs in a child process (:mod:`ivr.channels.sip.mediachild`), started and supervised
here. Each stream is a start message carrying a duplicate of the call's socket descriptor and the
RTP header state, the audio in chunks, and at the end the process's done message with the next
sequence number and timestamp, which go back into the session (DTMF and the next prompt carry on).

``stop`` predicates stay on the loop: one watcher polls them every 20 ms and turns a true one into
a cancel message. If the process dies (or stops answering), it is logged, counted and restarted
with a backoff; meanwhile every stream goes through the media thread, and a stream the process
was playing goes on there from where it had got to: every ``play()`` resolves.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivr.channels.sip import mediawire as wire
from ivr.channels.sip import udpsend
from ivr.channels.sip.pacer import Pacer
from ivr.channels.sip.stats import FRAME_SAMPLES, FRAME_SECONDS, PacingStats

if TYPE_CHECKING:
    from ivr.channels.sip.media import RtpSession

log = logging.getLogger("ivr.sip.media")

_WATCH_SECONDS = FRAME_SECONDS  # how often stop predicates are polled
_ANSWER_SECONDS = 2.0  # a stream the process should have ended this long ago: the process is stuck
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 10.0
_STABLE_SECONDS = 30.0  # a process that lived this long restarts after the first backoff again


@dataclass(eq=False)
class _Remote:
    """A stream the media process plays; ``done`` gets its end, or None if the process died."""

    id: int
    session: RtpSession
    audio: bytes
    stop: Callable[[], bool] | None
    done: asyncio.Future[wire.StreamDone | None]
    started: float  # time.monotonic()
    since: float | None = None  # a prompt: when it was asked for (its first frame's delay is recorded)
    cancelled_at: float | None = None
    frames: int = 0  # sent, as the process last said


class _Link:
    """One running media process and the socket to it."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket) -> None:
        self.process = process
        self.control = control
        self.streams: dict[int, _Remote] = {}
        self._outbox: deque[tuple[bytes, int | None]] = deque()
        self._wake = asyncio.Event()
        self.lost = False
        self.ready = False  # the process said it runs (its imports, its scheduling done)

    @classmethod
    def spawn(cls, niceness: int, realtime: int) -> _Link:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, wire.BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wire.BUFFER)
        try:
            process = subprocess.Popen(  # our own interpreter and module, no shell
                [sys.executable, "-m", "ivr.channels.sip.mediachild", str(theirs.fileno()), str(os.getpid()),
                 str(niceness), str(realtime)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        return cls(process, ours)

    def send(self, message: bytes, fd: int | None = None) -> None:
        """Queue a message (never waits: the writer sends it in order)."""
        if self.lost:
            return
        self._outbox.append((message, fd))
        self._wake.set()

    async def writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                message, fd = self._outbox[0]
                ancillary = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
                try:
                    self.control.sendmsg([message], ancillary)
                except BlockingIOError:
                    await self._writable(loop)
                    continue
                except OSError as exc:  # the process is gone or the socket broke: it is replaced
                    log.error("sending to the media process failed; killing it", extra={"error": repr(exc)})
                    self.kill()
                    return
                self._outbox.popleft()

    async def _writable(self, loop: asyncio.AbstractEventLoop) -> None:
        writable: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not writable.done():
                writable.set_result(None)

        loop.add_writer(self.control.fileno(), ready)
        try:
            await writable
        finally:
            loop.remove_writer(self.control.fileno())

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self) -> None:
        """End the process (a close message, then a kill if it lingers) and reap it."""
        self.lost = True
        with contextlib.suppress(OSError):
            self.control.send(wire.KIND.pack(wire.CLOSE))
        self.control.close()
        deadline = time.monotonic() + 1.0
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1.0)


class ProcessPacer:
    """The endpoint's pacer (``IVR_SIP__MEDIA=process``): the same ``play()`` as :class:`Pacer`."""

    def __init__(self, stats: PacingStats, *, niceness: int = 0, realtime: int = 0) -> None:
        self.stats = stats
        self._realtime = realtime
        self.thread = Pacer(stats, niceness=niceness)  # the fallback
        self.restarts = 0  # times the media process died or stopped answering and was restarted
        self._niceness = niceness
        self._link: _Link | None = None
        self._ids = itertools.count(1)
        self._stopping = False  # the server stops: a lost stream resolves instead of moving to the thread

    @property
    def faults(self) -> int:
        return self.thread.faults + self.restarts

    @property
    def active(self) -> int:
        return self.thread.active + (len(self._link.streams) if self._link is not None else 0)

    @property
    def running(self) -> bool:
        """True while the media process is up (else streams go through the media thread)."""
        return self._link is not None and self._link.ready and not self._link.lost

    @property
    def pid(self) -> int | None:
        return self._link.process.pid if self._link is not None else None

    # ------------------------------------------------------------------ playing
    async def play(self, session: RtpSession, audio: bytes, stop: Callable[[], bool] | None,
                   since: float | None = None) -> bool:
        """Send ``audio`` (encoded G.711) from the next tick on; True if it all went out.

        ``since``: the time.monotonic() this prompt was asked for; its first frame's delay is recorded."""
        link = self._link
        sock, sockaddr = session.media_socket, session.paced_sockaddr
        if link is None or link.lost or not link.ready or not isinstance(sock, socket.socket) or sockaddr is None:
            return await self._on_thread(session, audio, stop, since)  # (the thread handles the odd cases)
        loop = asyncio.get_running_loop()
        ssrc, pt, sequence, timestamp = session.begin_stream(time.monotonic())
        stream = _Remote(next(self._ids), session, audio, stop, loop.create_future(), time.monotonic(), since)
        link.streams[stream.id] = stream
        link.send(wire.StartStream(stream.id, ssrc, pt, sequence, timestamp, len(audio), sockaddr).encode(),
                  sock.fileno())
        for offset in range(0, len(audio), wire.CHUNK):
            link.send(wire.audio(stream.id, audio[offset : offset + wire.CHUNK]))
        try:
            done = await stream.done
        finally:
            if stream.done.cancelled() or not stream.done.done():  # the caller went away: no more goes out
                link.send(wire.cancel(stream.id))
            link.streams.pop(stream.id, None)
        if done is not None:
            session.end_stream(done.frames, done.sequence, done.timestamp, time.monotonic())
            return done.completed
        # The process died mid-stream: the rest goes out from the media thread, from where it was.
        if self._stopping or (stop is not None and stop()):
            return False
        # (From its last progress report: the caller may hear up to 0.1 s again rather than miss it.)
        sent = stream.frames
        session.end_stream(sent, (sequence + sent) & 0xFFFF, (timestamp + sent * FRAME_SAMPLES) & 0xFFFFFFFF,
                           time.monotonic())
        rest = audio[sent * FRAME_SAMPLES :]
        if not rest:
            return True
        return await self._on_thread(session, rest, stop)

    async def _on_thread(self, session: RtpSession, audio: bytes, stop: Callable[[], bool] | None,
                         since: float | None = None) -> bool:
        if self._stopping:
            return False  # the server is stopping: nothing would send it (and play() must resolve)
        self.thread.start()  # idempotent: the thread runs from the first stream it gets
        return await self.thread.play(session, audio, stop, since)

    def forget(self, session: RtpSession) -> None:
        """The session closes: the process stops sending for it at once."""
        link = self._link
        if link is None:
            return
        for stream in list(link.streams.values()):
            if stream.session is session and stream.cancelled_at is None:
                stream.cancelled_at = time.monotonic()
                link.send(wire.cancel(stream.id))

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        """Keep a media process running until cancelled; then end it (and the fallback thread)."""
        backoff, self._stopping = _FIRST_BACKOFF, False
        try:
            while True:
                try:
                    link = _Link.spawn(self._niceness, self._realtime)
                except OSError as exc:
                    log.error("the media process could not start; RTP goes through the media thread",
                              extra={"error": repr(exc)})
                else:
                    self._link = link
                    born = time.monotonic()
                    log.info("media process started", extra={"pid": link.process.pid})
                    try:
                        await self._serve(link)
                    except asyncio.CancelledError:
                        self._stopping = True
                        raise
                    except Exception:  # our side of it failed: the same as the process dying
                        log.exception("the media process's link failed")
                    finally:
                        self._lose(link)
                        await link.close()
                    self.restarts += 1
                    log.error(
                        "the media process ended (exit %s); RTP goes through the media thread until it is back",
                        link.process.returncode, extra={"pid": link.process.pid, "restarts": self.restarts},
                    )
                    if time.monotonic() - born > _STABLE_SECONDS:
                        backoff = _FIRST_BACKOFF
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
        finally:
            self._stopping = True
            self.thread.stop()

    def _lose(self, link: _Link) -> None:
        """Every stream of a lost process resolves now (its play() goes on on the thread)."""
        link.lost = True
        if self._link is link:
            self._link = None
        for stream in list(link.streams.values()):
            if not stream.done.done():
                stream.done.set_result(None)

    async def _serve(self, link: _Link) -> None:
        """Until the process is gone: read its messages, write ours, watch stop predicates."""
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(link.writer(), name="sip-media-writer")
            watcher = tg.create_task(self._watch(link), name="sip-media-watch")
            try:
                await self._read(link)
            finally:
                writer.cancel()
                watcher.cancel()

    async def _read(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(link.control, wire.MAX_MESSAGE)
            except OSError as exc:
                log.error("the media process's socket failed", extra={"error": repr(exc)})
                return
            if not data:
                return  # the process is gone
            self._receive(link, data)

    def _receive(self, link: _Link, data: bytes) -> None:
        (kind,) = wire.KIND.unpack_from(data)
        if kind == wire.READY:
            link.ready = True
        elif kind == wire.STATS:
            for lateness in wire.decode_stats(data):
                self.stats.record(lateness)
        elif kind == wire.PROGRESS:
            for stream_id, frames in wire.decode_progress(data).items():
                if (stream := link.streams.get(stream_id)) is not None:
                    stream.frames = frames
        elif kind == wire.FIRST:
            stream_id, at = wire.decode_first(data)
            if (stream := link.streams.get(stream_id)) is not None and stream.since is not None:
                self.stats.prompt_starts.append(at - stream.since)
        elif kind == wire.DONE:
            done = wire.StreamDone.decode(data)
            stream = link.streams.get(done.stream)
            if stream is not None and not stream.done.done():
                stream.done.set_result(done)
        elif kind == wire.FAILED:
            _, stream_id = wire.ID.unpack_from(data)
            stream = link.streams.get(stream_id)
            if stream is not None:
                stream.session.fail(OSError(data[wire.ID.size :].decode("utf-8", "replace")))

    async def _watch(self, link: _Link) -> None:
        """Each 20 ms: a stream whose ``stop`` became true is cancelled; a process that leaves a
        stream unanswered too long is stuck, and is killed (the reader then sees it gone)."""
        woke = time.monotonic()
        while True:
            await asyncio.sleep(_WATCH_SECONDS)
            now, last = time.monotonic(), woke
            woke = now
            # After the loop itself was held, the process's answers may be unread yet: judge next time.
            judge = now - last < _ANSWER_SECONDS / 4
            for stream in list(link.streams.values()):
                if stream.cancelled_at is None:
                    try:
                        stopping = stream.stop is not None and stream.stop()
                    except Exception:  # a caller's predicate failing stops its stream, not the others
                        log.exception("a stream's stop condition failed; stopping that stream")
                        stopping = True
                    if stopping:
                        stream.cancelled_at = now
                        link.send(wire.cancel(stream.id))
                    due = stream.started + len(stream.audio) / FRAME_SAMPLES * FRAME_SECONDS
                else:
                    due = stream.cancelled_at
                if judge and now - due > _ANSWER_SECONDS:
                    log.error("the media process stopped answering; killing it", extra={"pid": link.process.pid})
                    link.kill()
                    return


def make_pacer(mode: str, stats: PacingStats, *, niceness: int, realtime: int = 0) -> Pacer | ProcessPacer:
    """``process`` where the platform allows it (Linux: ``udpsend``, descriptor passing), else the thread."""
    if mode == "process" and udpsend.AVAILABLE and hasattr(socket, "SOCK_SEQPACKET"):
        return ProcessPacer(stats, niceness=niceness, realtime=realtime)
    return Pacer(stats, niceness=niceness)
