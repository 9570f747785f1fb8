"""A flooding source is dropped before parsing; the media thread keeps time while the loop is busy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ivr.channel import PromptFile
from ivr.channels.sip import udpsend
from ivr.channels.sip.metrics import SipCollector
from ivr.floodguard import FloodGuard, FloodLimit
from tests.sip.conftest import open_peer
from tests.sip.test_endpoint import request
from tests.sip.test_resilience import StartEndpoint, answered_call, expect, still_serving

SO_TIMESTAMPNS = 35  # Linux: each datagram's kernel receive time, as a cmsg


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_source_gets_its_burst_then_its_rate(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    guard = FloodGuard(FloodLimit(rate=10, burst=5), what="SIP", clock=clock, log_window=60)
    with caplog.at_level(logging.WARNING, "ivr.floodguard"):
        assert [guard.admit("a") for _ in range(7)] == [True] * 5 + [False] * 2
        assert guard.admit("b")  # another source has its own bucket
        clock.now += 0.1  # one token back at 10/s
        assert guard.admit("a") and not guard.admit("a")
        for _ in range(100):
            guard.admit("a")
    assert guard.refused == 103
    notes = [r for r in caplog.records if "flood guard" in r.getMessage()]
    assert len(notes) == 1 and "a sends past 10/s" in notes[0].getMessage()  # once per source per window
    clock.now += 61
    with caplog.at_level(logging.WARNING, "ivr.floodguard"):
        for _ in range(20):
            guard.admit("a")
    notes = [r for r in caplog.records if "flood guard" in r.getMessage()]
    assert len(notes) == 2 and "refused since the last note" in notes[1].getMessage()


def test_the_table_stays_bounded_and_forgets_idle_sources_first() -> None:
    clock = FakeClock()
    guard = FloodGuard(FloodLimit(rate=1, burst=2), what="HTTP", clock=clock, max_sources=100)
    guard.admit("flooder")
    guard.admit("flooder")
    assert not guard.admit("flooder")
    for n in range(10_000):
        guard.admit(f"spoofed-{n}")
        assert len(guard) <= 100
    guard_off = FloodGuard(FloodLimit(rate=0, burst=1), what="HTTP")
    assert all(guard_off.admit("x") for _ in range(1000)) and len(guard_off) == 0


async def test_a_flooding_source_is_dropped_unparsed_and_others_are_served(start_endpoint: StartEndpoint) -> None:
    async with start_endpoint(flood_rate=50, flood_burst=20) as harness, open_peer() as flooder:
        endpoint = harness.endpoint
        for n in range(300):  # far past its burst, faster than its rate refills
            endpoint.datagram_received(request("OPTIONS", flooder.port, branch=f"z9hG4bKfl{n}", call_id=f"fl{n}"),
                                       ("127.0.0.1", flooder.port))
        assert endpoint.flood.per_source.refused >= 250
        assert endpoint.stats.malformed == 0  # dropped before the parser saw them
        async with open_peer() as other:
            await still_serving(harness, other, "z9hG4bKother")
        registry = CollectorRegistry()
        registry.register(SipCollector(endpoint.stats, endpoint.pacing, endpoint.flood))
        text = generate_latest(registry).decode()
        assert f'puente_sip_flood_refused_total{{limit="source"}} {float(endpoint.flood.per_source.refused)}' in text


async def test_a_trusted_source_is_never_limited(start_endpoint: StartEndpoint) -> None:
    settings = {"flood_rate": 5, "flood_burst": 5, "flood_trusted": ["127.0.0.0/8"]}
    async with start_endpoint(**settings) as harness, open_peer() as trunk:
        for n in range(50):
            harness.endpoint.datagram_received(
                request("OPTIONS", trunk.port, branch=f"z9hG4bKtr{n}", call_id=f"tr{n}"), ("127.0.0.1", trunk.port))
        assert harness.endpoint.flood.refused == 0
        await expect(trunk, 200, call_id="tr49")


@contextlib.contextmanager
def timestamped_sink() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        yield sock
    finally:
        sock.close()


def arrivals(sock: socket.socket) -> list[float]:
    """The kernel receive time (CLOCK_REALTIME) of every datagram waiting on ``sock``."""
    times: list[float] = []
    while True:
        try:
            _, ancillary, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return times
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = struct.unpack("qq", value[:16])
                times.append(seconds + nanos / 1e9)


async def test_rtp_leaves_on_schedule_while_the_loop_is_held(start_endpoint: StartEndpoint) -> None:
    """The loop is held for 500 ms by pure-Python work (which keeps the GIL but for switches): the
    media thread must still send every 20 ms. A pacer on the loop sends nothing for those 500 ms.

    Tolerances: the thread needs the GIL for each tick, and on a loaded machine the loop thread
    can be preempted while it holds it (measured at load ~14 on 2 cores: stalls of 70-80 ms, then
    the missed frames at once; at load 10 one run in ten missed the tighter bounds of a 300 ms
    hold), so: most frames, a median gap of one frame, no gap as long as half the hold."""
    hold = 0.5
    async with start_endpoint() as harness, open_peer() as peer:
        with timestamped_sink() as sink:
            channel, _ = await answered_call(harness, peer, call_id="timed", rtp_port=sink.getsockname()[1])
            playing = asyncio.create_task(channel.play([PromptFile("en/long")]))
            loop = asyncio.get_running_loop()
            end = loop.time() + 3.0
            while harness.endpoint.pacing.frames_sent < 10 and loop.time() < end:
                await asyncio.sleep(0.01)  # the stream under way
            arrivals(sink)  # drop what came before
            held_from = time.time()
            spin_until = time.monotonic() + hold
            while time.monotonic() < spin_until:  # holds the loop
                pass
            held_to = time.time()
            during = [t for t in arrivals(sink) if held_from <= t <= held_to]
            await channel.hangup()
            with contextlib.suppress(Exception):
                await playing
    due = int(hold / 0.02)
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(during))
    shown = [round(g, 1) for g in gaps]
    assert len(during) >= 0.6 * due, f"only {len(during)} of {due} RTP packets left while the loop was held"
    assert 15 <= gaps[len(gaps) // 2] <= 25, f"RTP gaps while the loop was held (ms, sorted): {shown}"
    assert gaps[-1] < hold * 1000 / 2, f"RTP gaps while the loop was held (ms, sorted): {shown}"


@pytest.mark.skipif(not udpsend.AVAILABLE, reason="udpsend is Linux only")
def test_udpsend_puts_a_datagram_on_the_wire_and_refuses_a_bad_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(3)
        assert udpsend.send(sender.fileno(), b"frame", udpsend.sockaddr("127.0.0.1", sink.getsockname()[1]))
        assert sink.recvfrom(100)[0] == b"frame"
        with pytest.raises(OSError):  # an IPv6 destination on an IPv4 socket: an error, never a hang
            udpsend.send(sender.fileno(), b"x", udpsend.sockaddr("::1", 4000))
    assert len(udpsend.sockaddr("::1", 5004)) == 28
    with pytest.raises(ValueError):
        udpsend.sockaddr("pbx.example.com", 5004)  # names are never resolved on the media thread
