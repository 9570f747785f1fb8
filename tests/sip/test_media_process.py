"""The media process paces RTP with its own GIL: a held loop does not delay it, a stop cancels it,
its death loses no play() (the media thread takes over), and it never outlives the server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest

from ivr.channel import PromptFile
from ivr.channels.sip import mediawire as wire
from ivr.channels.sip import udpsend
from ivr.channels.sip.media import RtpSession, open_session
from ivr.channels.sip.mediachild import MediaProcess
from ivr.channels.sip.mediaproc import ProcessPacer
from ivr.channels.sip.rtp import RtpPacket, parse_rtp
from ivr.channels.sip.stats import PacingStats
from tests.sip.conftest import open_peer
from tests.sip.test_flood_and_media import arrivals, timestamped_sink
from tests.sip.test_resilience import StartEndpoint, answered_call

pytestmark = pytest.mark.skipif(not udpsend.AVAILABLE, reason="the media process needs Linux (udpsend, SCM_RIGHTS)")

AUDIO = bytes(range(256)) * 25  # 6400 bytes: 40 frames, 800 ms


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def sink() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def received(sock: socket.socket) -> list[RtpPacket]:
    packets = []
    while True:
        try:
            packets.append(parse_rtp(sock.recv(2048)))
        except BlockingIOError:
            return packets


@contextlib.asynccontextmanager
async def running_pacer() -> AsyncIterator[ProcessPacer]:
    pacer = ProcessPacer(PacingStats())
    task = asyncio.create_task(pacer.run())
    try:
        await until(lambda: pacer.running, 3.0, "the media process")
        yield pacer
    finally:
        pid = pacer.pid
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert pid is None or not alive(pid), "the media process outlived its pacer"


@dataclass(frozen=True)
class Streaming:
    """A running media process, an RTP session paced by it, and the socket its frames go to."""

    pacer: ProcessPacer
    session: RtpSession
    peer: socket.socket

    async def play(self, audio: bytes, *, frames_out: int,
                   stop: Callable[[], bool] | None = None) -> asyncio.Task[bool]:
        """Starts streaming ``audio``; returns once ``frames_out`` frames went out (the test awaits
        or cancels the task)."""
        playing = asyncio.create_task(self.session.stream(audio, stop))
        await until(lambda: self.pacer.stats.frames_sent >= frames_out, 3.0, "frames sent")
        return playing


@pytest.fixture
async def streaming() -> AsyncIterator[Streaming]:
    async with running_pacer() as pacer:
        with sink() as peer:
            session = await open_session("127.0.0.1", 0, 0, pacer)
            session.remote = peer.getsockname()
            try:
                yield Streaming(pacer, session, peer)
            finally:
                session.close()


async def test_rtp_leaves_on_schedule_while_the_loop_is_held(start_endpoint: StartEndpoint) -> None:
    """The loop thread spins 500 ms in pure Python: the media process, with its own GIL, sends
    every frame on time (the thread pacer needed loose bounds here: test_flood_and_media)."""
    hold = 0.5
    async with start_endpoint() as harness, open_peer() as peer:
        pacer = harness.endpoint.pacer
        assert isinstance(pacer, ProcessPacer)  # the default
        await until(lambda: pacer.running, 5.0, "the media process")  # (until then: the thread)
        with timestamped_sink() as rtp_sink:
            channel, _ = await answered_call(harness, peer, call_id="held", rtp_port=rtp_sink.getsockname()[1])
            playing = asyncio.create_task(channel.play([PromptFile("en/long")]))
            await until(lambda: harness.endpoint.pacing.frames_sent >= 10, 3.0, "the stream under way")
            assert pacer.running and pacer.thread.active == 0  # this stream is the process's
            arrivals(rtp_sink)  # drop what came before
            held_from = time.time()
            spin_until = time.monotonic() + hold
            while time.monotonic() < spin_until:  # holds the loop (and the GIL, but for switches)
                pass
            held_to = time.time()
            during = [t for t in arrivals(rtp_sink) if held_from <= t <= held_to]
            await channel.hangup()
            with contextlib.suppress(Exception):
                await playing
    due = int(hold / 0.02)
    errors = sorted(abs((b - a) * 1000 - 20) for a, b in itertools.pairwise(during))
    shown = [round(e, 2) for e in errors]
    assert len(during) >= due - 1, f"only {len(during)} of {due} RTP packets left while the loop was held"
    p99 = errors[min(len(errors) - 1, int(0.99 * len(errors)))]
    assert p99 < 5.0, f"RTP gap errors while the loop was held (ms, sorted): {shown}"


async def test_a_stop_cancels_the_stream_and_the_header_state_carries_on(streaming: Streaming) -> None:
    session, peer = streaming.session, streaming.peer
    stopped = asyncio.Event()
    playing = await streaming.play(AUDIO, frames_out=5, stop=stopped.is_set)
    stopped.set()
    asked = time.monotonic()
    assert await asyncio.wait_for(playing, 1.0) is False
    assert time.monotonic() - asked < 0.1, "the stop took effect late"
    await asyncio.sleep(0.06)  # (no frame may follow the stop's answer)
    first = received(peer)
    assert 5 <= len(first) < 40, f"{len(first)} frames of a stopped 40-frame stream went out"
    assert await asyncio.wait_for(session.stream(AUDIO[:800]), 2.0) is True
    second = received(peer)
    assert len(second) == 5
    packets = first + second
    assert [p.sequence for p in packets] == [(first[0].sequence + n) & 0xFFFF for n in range(len(packets))]
    assert [p.marker for p in packets].count(True) == 2 and second[0].marker  # each talkspurt marked
    assert len({p.ssrc for p in packets}) == 1
    assert second[0].timestamp - first[-1].timestamp >= 160  # the RTP clock ran on across the gap


async def test_a_killed_media_process_loses_no_play_and_is_replaced(streaming: Streaming) -> None:
    pacer, session, peer = streaming.pacer, streaming.session, streaming.peer
    playing = await streaming.play(AUDIO, frames_out=5)
    pid = pacer.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # The stream goes on from the media thread: the play resolves, with all of it played.
    assert await asyncio.wait_for(playing, 3.0) is True
    assert pacer.restarts == 1 and not alive(pid)
    # The next prompt plays (on the thread, or on the new process if it is back already).
    before = len(received(peer))
    assert await asyncio.wait_for(session.stream(AUDIO[:1600]), 3.0) is True
    assert len(received(peer)) == 10
    assert before >= 40  # the whole first stream went out, across the switch (a bit twice)
    await until(lambda: pacer.running and pacer.pid != pid, 5.0, "a new media process")
    assert await asyncio.wait_for(session.stream(AUDIO[:1600]), 3.0) is True
    assert len(received(peer)) == 10


async def test_a_media_process_that_stops_answering_is_replaced(streaming: Streaming) -> None:
    """A process that is alive but stuck (here: stopped) is killed once a stream is 2 s overdue."""
    pacer = streaming.pacer
    playing = await streaming.play(AUDIO, frames_out=5)
    pid = pacer.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        assert await asyncio.wait_for(playing, 5.0) is True  # the rest from the thread
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert pacer.restarts == 1
    await until(lambda: not alive(pid), 2.0, "the stuck process to be gone")


async def test_a_stream_the_caller_abandons_stops_going_out(streaming: Streaming) -> None:
    playing = await streaming.play(AUDIO, frames_out=3)
    playing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await playing
    await until(lambda: streaming.pacer.active == 0, 1.0, "the stream to end")
    await asyncio.sleep(0.1)
    received(streaming.peer)
    await asyncio.sleep(0.1)
    assert received(streaming.peer) == [], "frames went out after the play was abandoned"


def test_the_media_process_dies_with_the_server(tmp_path: object) -> None:
    """A server killed outright (SIGKILL: no clean-up runs) takes its media process with it."""
    script = textwrap.dedent("""
        import asyncio, sys
        from ivr.channels.sip.mediaproc import ProcessPacer
        from ivr.channels.sip.stats import PacingStats

        async def main():
            pacer = ProcessPacer(PacingStats())
            task = asyncio.create_task(pacer.run())
            while pacer.pid is None:
                await asyncio.sleep(0.01)
            print(pacer.pid, flush=True)
            await task

        asyncio.run(main())
    """)
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert alive(child)
    finally:
        server.kill()
        server.wait(timeout=5)
    deadline = time.monotonic() + 3.0
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(child), "the media process outlived the server"


def test_the_media_process_says_nothing_when_the_server_already_closed_its_end() -> None:
    """A server that fails to start closes the pair before READY: the child must end quietly (its
    traceback would follow the server's one-line start-up error)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.close()
    theirs.setblocking(False)
    with theirs:
        media = MediaProcess(theirs)
        media.send(wire.KIND.pack(wire.READY))
        assert media.closing
