"""The media process: the 20 ms RTP clock with a GIL of its own.

    python -m ivr.channels.sip.mediachild <control fd> <parent pid> <niceness> <realtime priority>

Started by :class:`ivr.channels.sip.mediaproc.ProcessPacer`. In the server process the pacing
thread shares the GIL with the event loop, and on a loaded machine the OS preempts the loop thread
while it holds it: frames then leave 20-30 ms late whatever the thread's priority. Here nothing
else runs: one thread waits on the control socket until the next tick's deadline, then sends one
frame of every stream through the call's own socket (its descriptor came with the start message).

It ends when the control socket closes, on a close message, or when the parent dies
(``PR_SET_PDEATHSIG``, and the parent pid is checked while idle): it never outlives the server.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field

from ivr.channels.sip import mediawire as wire
from ivr.channels.sip import udpsend
from ivr.channels.sip.rtp import RtpPacket, build_rtp

FRAME_SECONDS = 0.020
FRAME_SAMPLES = 160
_RESYNC_SECONDS = 0.2  # a deadline missed by more (the machine stalled) restarts the clock
_STATS_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(eq=False)
class _Stream:
    start: wire.StartStream
    fd: int
    audio: bytearray = field(default_factory=bytearray)
    offset: int = 0
    frames: int = 0
    sequence: int = 0
    timestamp: int = 0


class MediaProcess:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.streams: dict[int, _Stream] = {}
        self.lateness: list[float] = []
        self.closing = False

    # ------------------------------------------------------------------ commands
    def drain(self) -> None:
        """Take every waiting command (never blocks)."""
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.control, wire.MAX_MESSAGE, 4)
            except BlockingIOError:
                return
            if not data:
                self.closing = True
                return
            self.command(data, fds)

    def command(self, data: bytes, fds: list[int]) -> None:
        (kind,) = wire.KIND.unpack_from(data)
        if kind == wire.START:
            start = wire.StartStream.decode(data)
            if not fds:
                self.send(wire.failed(start.stream, "no descriptor came with the stream"))
                self.send(wire.StreamDone(start.stream, False, 0, start.sequence, start.timestamp).encode())
                return
            for extra in fds[1:]:
                os.close(extra)
            self.streams[start.stream] = _Stream(start, fds[0], sequence=start.sequence, timestamp=start.timestamp)
            return
        for fd in fds:  # only a start carries one
            os.close(fd)
        if kind == wire.CLOSE:
            self.closing = True
            return
        _, stream_id = wire.ID.unpack_from(data)
        stream = self.streams.get(stream_id)
        if stream is None:
            return  # it ended already: the loop has (or will have) its done message
        if kind == wire.AUDIO:
            stream.audio += data[wire.ID.size :]
        elif kind == wire.CANCEL:
            self.finish(stream, completed=False)

    def send(self, message: bytes) -> None:
        """To the loop; waits (up to 2 s) only if the loop has left 1 MB unread."""
        for _ in range(200):
            try:
                self.control.send(message)
                return
            except BlockingIOError:
                select.select([], [self.control], [], 0.01)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed its end (stopping, or it failed to start): nothing to say
        self.closing = True  # the server no longer reads us: it is stuck or gone

    # ------------------------------------------------------------------ the clock
    def tick(self, deadline: float) -> None:
        for stream in list(self.streams.values()):
            chunk = bytes(stream.audio[stream.offset : stream.offset + FRAME_SAMPLES])
            if not chunk:
                if stream.offset >= stream.start.length:
                    self.finish(stream, completed=True)
                continue  # its audio is still on the way: this tick sends none of it
            packet = build_rtp(RtpPacket(stream.start.payload_type, stream.frames == 0, stream.sequence,
                                         stream.timestamp, stream.start.ssrc, chunk))
            now = time.monotonic()
            try:
                udpsend.send(stream.fd, packet, stream.start.sockaddr)
            except (OSError, ValueError) as exc:
                self.send(wire.failed(stream.start.stream, repr(exc)))
                self.finish(stream, completed=False)
                continue
            self.lateness.append(now - deadline)
            if stream.frames == 0:  # a prompt's start is timed from its first frame (the loop keeps the ask time)
                self.send(wire.first(stream.start.stream, now))
            stream.offset += len(chunk)
            stream.frames += 1
            stream.sequence = (stream.sequence + 1) & 0xFFFF
            stream.timestamp = (stream.timestamp + len(chunk)) & 0xFFFFFFFF
            if stream.offset >= stream.start.length:
                self.finish(stream, completed=True)

    def finish(self, stream: _Stream, *, completed: bool) -> None:
        del self.streams[stream.start.stream]
        os.close(stream.fd)
        self.flush_stats()  # the loop counts this stream's frames before it hears it ended
        self.send(
            wire.StreamDone(stream.start.stream, completed, stream.frames, stream.sequence, stream.timestamp).encode()
        )

    def flush_stats(self) -> None:
        while self.lateness:
            batch, self.lateness = self.lateness[: wire.MAX_STATS], self.lateness[wire.MAX_STATS :]
            self.send(wire.stats(batch))

    def wait(self, timeout: float) -> None:
        readable, _, _ = select.select([self.control], [], [], max(0.0, timeout))
        if readable:
            self.drain()

    def run(self, parent: int) -> None:
        last_stats = time.monotonic()
        while not self.closing:
            if not self.streams:
                self.flush_stats()
                self.wait(1.0)
                if os.getppid() != parent:
                    return
                start, tick = time.monotonic(), 0
                continue
            deadline = start + tick * FRAME_SECONDS
            while not self.closing and (delay := deadline - time.monotonic()) > 0:
                self.wait(delay)
            now = time.monotonic()
            if now - deadline > _RESYNC_SECONDS:
                start, tick, deadline = now, 0, now
            self.tick(deadline)
            tick += 1
            if now - last_stats >= _STATS_SECONDS:
                self.flush_stats()
                if self.streams:
                    self.send(wire.progress({s.start.stream: s.frames for s in self.streams.values()}))
                last_stats = now


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _realtime(priority: int) -> bool:
    """SCHED_FIFO at ``priority``, as media servers run their clocks: on a busy machine a nice -10
    process still waits a few ms for the CPU after its timer fires (measured: 5.7 ms p99 with four
    CPU-bound processes on 2 cores; 0.2 ms with SCHED_FIFO). The process sleeps between ticks and
    works ~1% of a CPU, and the kernel keeps 5% of each second for others whatever it does."""
    if priority <= 0 or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as exc:
        print(f"puente media process: no real-time scheduling (priority {priority} needs CAP_SYS_NICE or "
              f"RLIMIT_RTPRIO; IVR_SIP__MEDIA_REALTIME_PRIORITY=0 silences this): {exc}", file=sys.stderr)
        return False
    return True


def _lower_niceness(niceness: int) -> None:
    if niceness == 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except OSError as exc:
        print(f"puente media process: keeps the normal priority (niceness {niceness} needs CAP_SYS_NICE; "
              f"IVR_SIP__MEDIA_NICENESS=0 silences this): {exc}", file=sys.stderr)


def main(argv: list[str]) -> int:
    fd, parent, niceness, realtime = int(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the server's to handle
    if not _realtime(realtime):
        _lower_niceness(niceness)
    control = socket.socket(fileno=fd)
    control.setblocking(False)  # (recv_fds ignores MSG_DONTWAIT on a blocking socket)
    media = MediaProcess(control)
    media.send(wire.KIND.pack(wire.READY))  # until this, the server's streams go through its thread
    media.run(parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
