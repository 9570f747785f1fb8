"""Nothing a peer sends stops the endpoint: bad media addresses, send faults, garbage datagrams.

Each scenario runs on the standard loop and on uvloop (what ``ivr serve`` runs on by default):
uvloop's ``sendto`` raises where asyncio's reports to ``error_received``, which is how one INVITE
with ``c=IN IP6 ::1`` used to take the whole server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from ivr import loops
from ivr.channel import CallerHungUp, PromptFile
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.media import open_session
from ivr.channels.sip.message import SipRequest, SipResponse, tag_of
from ivr.channels.sip.pacer import Pacer
from ivr.channels.sip.rtp import RtpPacket, build_rtp
from ivr.channels.sip.stats import PacingStats
from ivr.loops import EventLoopChoice
from tests.sip.conftest import Harness, UdpPeer, open_peer
from tests.sip.test_endpoint import SDP, request

LOOPS = [
    pytest.param(EventLoopChoice.ASYNCIO, id="asyncio"),
    pytest.param(
        EventLoopChoice.UVLOOP,
        id="uvloop",
        marks=pytest.mark.skipif(not loops.uvloop_available(), reason="uvloop is not installed"),
    ),
]
StartEndpoint = Callable[..., contextlib.AbstractAsyncContextManager[Harness]]


def run_on(choice: EventLoopChoice, scenario: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        expected = "uvloop" if choice is EventLoopChoice.UVLOOP else "asyncio"
        assert type(asyncio.get_running_loop()).__module__.startswith(expected)
        await scenario()

    loops.run(main(), choice)


class RtpSink(asyncio.DatagramProtocol):
    """Where a test caller's SDP points: counts the RTP packets the endpoint sends."""

    def __init__(self) -> None:
        self.packets = 0
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets += 1
        self.arrived.set()


@contextlib.asynccontextmanager
async def rtp_sink() -> Any:
    transport, sink = await asyncio.get_running_loop().create_datagram_endpoint(
        RtpSink, local_addr=("127.0.0.1", 0)
    )
    try:
        yield sink, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


async def answered_call(harness: Harness, peer: UdpPeer, *, call_id: str, rtp_port: int, tag: str = "peer1"
                        ) -> tuple[SipChannel, str]:
    """INVITE, answer, ACK: the channel and our To tag."""
    invite = request("INVITE", peer.port, branch=f"z9hG4bK{call_id}{tag}", call_id=call_id,
                     body=SDP.format(port=rtp_port)).replace(b"tag=peer1", f"tag={tag}".encode())
    peer.send(invite, harness.port)
    channel = await asyncio.wait_for(harness.channels.get(), 3)
    await channel.answer()
    ok = await expect(peer, 200, call_id=call_id)
    to_tag = tag_of(ok.headers.get("To"))
    ack = request("ACK", peer.port, branch=f"z9hG4bKack{call_id}", call_id=call_id, to_tag=to_tag)
    peer.send(ack.replace(b"tag=peer1", f"tag={tag}".encode()), harness.port)
    return channel, to_tag


async def expect(peer: UdpPeer, status: int, *, call_id: str, method: str | None = None) -> SipResponse:
    loop = asyncio.get_running_loop()
    end = loop.time() + 3.0
    while True:
        message = await peer.next(max(0.01, end - loop.time()))
        if (
            isinstance(message, SipResponse) and message.status == status and message.call_id == call_id
            and (method is None or message.cseq[1] == method)
        ):
            return message


async def still_serving(harness: Harness, peer: UdpPeer, branch: str) -> None:
    assert harness.task is not None and not harness.task.done(), "the endpoint stopped"
    peer.send(request("OPTIONS", peer.port, branch=branch, call_id=f"opt-{branch}"), harness.port)
    assert (await expect(peer, 200, call_id=f"opt-{branch}")).branch == branch


BAD_MEDIA = {
    "ipv6-loopback": ("c=IN IP4 127.0.0.1", "c=IN IP6 ::1", "IPv6 media is not supported"),
    "host-name": ("c=IN IP4 127.0.0.1", "c=IN IP4 pbx.example.com", "must be an IP address"),
    "family-mismatch": ("c=IN IP4 127.0.0.1", "c=IN IP4 ::1", "is an IPv6 address"),
    "port-out-of-range": ("m=audio {port}", "m=audio 99999", "port must be 1-65535"),
    "multicast": ("c=IN IP4 127.0.0.1", "c=IN IP4 239.1.2.3", "multicast"),
    "no-address-type": ("c=IN IP4 127.0.0.1", "c=IN X25 127.0.0.1", "unsupported connection address type"),
}


@pytest.mark.parametrize("choice", LOOPS)
@pytest.mark.parametrize("case", sorted(BAD_MEDIA))
def test_an_unusable_media_address_is_refused_and_the_endpoint_goes_on(
    start_endpoint: StartEndpoint, choice: EventLoopChoice, case: str
) -> None:
    old, new, reason = BAD_MEDIA[case]

    async def scenario() -> None:
        async with start_endpoint() as harness, open_peer() as peer, rtp_sink() as (sink, rtp_port):
            bad_sdp = SDP.replace(old, new).format(port=rtp_port)
            peer.send(request("INVITE", peer.port, branch="z9hG4bKbad", call_id="bad", body=bad_sdp), harness.port)
            refused = await expect(peer, 488, call_id="bad")
            assert reason in (refused.headers.get("Warning") or "")
            assert harness.channels.empty() and harness.endpoint.active_calls() == 0
            await still_serving(harness, peer, "z9hG4bKalive1")
            # A good call still gets audio from the one pacer.
            channel, _ = await answered_call(harness, peer, call_id="good", rtp_port=rtp_port)
            await channel.play([PromptFile("en/short")])
            assert sink.packets >= 10
            await channel.hangup()

    run_on(choice, scenario)


@pytest.mark.parametrize("choice", LOOPS)
@pytest.mark.parametrize("new", ["c=IN IP6 ::1", "c=IN IP4 pbx.example.com"])
def test_a_reinvite_to_an_unusable_address_is_refused_and_the_call_goes_on(
    start_endpoint: StartEndpoint, choice: EventLoopChoice, new: str
) -> None:
    async def scenario() -> None:
        async with start_endpoint() as harness, open_peer() as peer, rtp_sink() as (sink, rtp_port):
            channel, to_tag = await answered_call(harness, peer, call_id="re", rtp_port=rtp_port)
            offer = SDP.replace("c=IN IP4 127.0.0.1", new).format(port=rtp_port)
            reinvite = request("INVITE", peer.port, branch="z9hG4bKre2", call_id="re", cseq=2, to_tag=to_tag,
                               body=offer)
            peer.send(reinvite, harness.port)
            refused = await expect(peer, 488, call_id="re")
            assert tag_of(refused.headers.get("To")) == to_tag and refused.headers.get("Warning")
            peer.send(request("ACK", peer.port, branch="z9hG4bKre2", call_id="re", cseq=2, to_tag=to_tag),
                      harness.port)
            assert not channel.hung_up
            before = sink.packets
            await channel.play([PromptFile("en/short")])  # the media still flows to the old address
            assert sink.packets >= before + 10
            await still_serving(harness, peer, "z9hG4bKalive2")
            peer.send(request("BYE", peer.port, branch="z9hG4bKbye", call_id="re", cseq=3, to_tag=to_tag),
                      harness.port)
            await expect(peer, 200, call_id="re", method="BYE")
            await asyncio.wait_for(channel.wait_hangup(), 2)

    run_on(choice, scenario)


class RefusingTransport(asyncio.DatagramTransport):
    """A media socket whose sends fail the way uvloop's do for an address it cannot use."""

    def __init__(self, real: asyncio.DatagramTransport) -> None:
        super().__init__()
        self._real = real

    def sendto(self, data: Any, addr: Any = None) -> None:
        raise ValueError(f"{addr!r}: socket family mismatch or a DNS lookup is required")

    def is_closing(self) -> bool:
        return self._real.is_closing()

    def close(self) -> None:
        self._real.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._real.get_extra_info(name, default)


class RefusingSocket:
    """The media thread's handle on a socket whose sends fail (as for an address it cannot use)."""

    def sendto(self, data: bytes, address: tuple[str, int], /) -> int:
        raise ValueError(f"{address!r}: socket family mismatch or a DNS lookup is required")

    def close(self) -> None:
        return None


def _refuse(channel: SipChannel) -> None:
    session = channel.leg.rtp
    assert session.transport is not None
    session.transport = RefusingTransport(session.transport)  # the loop's sends (relay, DTMF)
    session.media_socket = RefusingSocket()  # the media thread's


def _ipv6_remote(channel: SipChannel) -> None:
    channel.leg.rtp.remote = ("::1", 4000)  # past the SDP check: the session refuses to send there


FAULTS: dict[str, Callable[[SipChannel], None]] = {"refusing-socket": _refuse, "ipv6-remote": _ipv6_remote}


@pytest.mark.parametrize("choice", LOOPS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_send_fault_ends_that_call_only(
    start_endpoint: StartEndpoint, choice: EventLoopChoice, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with start_endpoint() as harness, open_peer() as peer, rtp_sink() as (sink, rtp_port):
            victim, to_tag = await answered_call(harness, peer, call_id="victim", rtp_port=rtp_port)
            other, _ = await answered_call(harness, peer, call_id="other", rtp_port=rtp_port, tag="peer2")
            FAULTS[fault](victim)
            other_play = asyncio.create_task(other.play([PromptFile("en/long")]))
            with pytest.raises(CallerHungUp):
                await asyncio.wait_for(victim.play([PromptFile("en/long")]), 3)
            bye = await _next_request(peer, "BYE", "victim")
            assert tag_of(bye.headers.get("From")) == to_tag
            assert harness.endpoint.pacing.send_errors == 1
            warnings = [r for r in caplog.records if r.getMessage() == "RTP send failed; ending the call"]
            assert len(warnings) == 1 and cast(Any, warnings[0]).sip_call_id == "victim"
            assert not other.hung_up and not other_play.done()
            before = sink.packets
            await asyncio.sleep(0.2)  # real time passes for the other call's 20 ms frames
            assert sink.packets >= before + 5, "the pacer stopped sending to the other call"
            await still_serving(harness, peer, "z9hG4bKalive3")
            await other.hangup()
            with pytest.raises(CallerHungUp):
                await other_play

    with caplog.at_level(logging.WARNING, "ivr.sip.media"):
        run_on(choice, scenario)


async def _next_request(peer: UdpPeer, method: str, call_id: str) -> SipRequest:
    loop = asyncio.get_running_loop()
    end = loop.time() + 3.0
    while True:
        message = await peer.next(max(0.01, end - loop.time()))
        if isinstance(message, SipRequest) and message.method == method and message.call_id == call_id:
            return message


def _fuzz_datagrams(rng: random.Random, peer_port: int) -> list[bytes]:
    valid = [
        request("INVITE", peer_port, branch="z9hG4bKfz", call_id="fz", body=SDP.format(port=40000)),
        request("REGISTER", peer_port, branch="z9hG4bKfr", call_id="fr", extra="Expires: 60\r\n"),
        request("BYE", peer_port, branch="z9hG4bKfb", call_id="fb", cseq=2, to_tag="x"),
        request("INFO", peer_port, branch="z9hG4bKfi", call_id="fi", cseq=2, to_tag="x"),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKq\r\nFrom: a;tag=1\r\nTo: b;tag=2\r\n"
        b"Call-ID: r\r\nCSeq: 1 INVITE\r\n\r\n",
    ]
    datagrams: list[bytes] = []
    for _ in range(150):
        datagrams.append(rng.randbytes(rng.randrange(1, 1500)))
    for message in valid:
        for cut in sorted(rng.sample(range(1, len(message)), 25)):
            datagrams.append(message[:cut])  # truncated anywhere
        for _ in range(25):
            mutated = bytearray(message)
            for _ in range(rng.randrange(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            datagrams.append(bytes(mutated))
        head, _, tail = message.partition(b"\r\n")
        datagrams.append(head + b"\r\nX-Huge: " + b"a" * 60_000 + b"\r\n" + tail)  # one huge header
        datagrams.append(head + b"\r\n" + b"X-Many: 1\r\n" * 5000 + tail)  # very many headers
        datagrams.append(message.replace(b"\r\n", b"\n"))  # bare LF
        datagrams.append(message.replace(b"SIP/2.0", b"SIP/2.0" + "\u00e9\u2028".encode()))
    for body in ("m=audio ²³ RTP/AVP 0", "m=audio 4000 RTP/AVP " + "9" * 5000, "c=IN IP4\r\nm=audio 1 RTP/AVP 0",
                 "c=IN\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0", "v=0\r\n" * 3000):
        datagrams.append(request("INVITE", peer_port, branch="z9hG4bKsdp", call_id=f"sdp{len(datagrams)}",
                                 body=body))
    return datagrams


@pytest.mark.parametrize("choice", LOOPS)
def test_garbage_datagrams_never_stop_the_endpoint(start_endpoint: StartEndpoint, choice: EventLoopChoice) -> None:
    async def hang_up_at_once(channel: SipChannel) -> None:
        await channel.hangup()

    async def scenario() -> None:
        # The flood guard off: every datagram must reach the parser (the guard has its own tests).
        async with start_endpoint(hang_up_at_once, flood_rate=0) as harness, open_peer() as peer:
            datagrams = _fuzz_datagrams(random.Random(20261206), peer.port)
            for data in datagrams:
                if len(data) <= 65_000:
                    peer.send(data, harness.port)  # over the real socket, as a peer would
                    await asyncio.sleep(0)
                harness.endpoint.datagram_received(data, ("127.0.0.1", peer.port))  # and past the UDP size cap
            await still_serving(harness, peer, "z9hG4bKafterfuzz")
            stats = harness.endpoint.stats
            assert stats.internal_errors == 0 and stats.call_faults == 0
            assert stats.malformed > 100

    run_on(choice, scenario)


@pytest.mark.parametrize("choice", LOOPS)
def test_a_failing_media_listener_costs_packets_not_the_call(choice: EventLoopChoice) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        session = await open_session("127.0.0.1", 0, 0, Pacer(PacingStats()))

        def broken(pcm: bytes) -> None:
            raise RuntimeError("a listener's bug")

        session.pcm_listeners.append(broken)
        sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        try:
            packet = build_rtp(RtpPacket(0, False, 1, 160, 1234, b"\xff" * 160))
            for _ in range(3):
                sender.sendto(packet, ("127.0.0.1", session.local_port))
            end = loop.time() + 3.0
            while session.packets_received < 3 and loop.time() < end:
                await asyncio.sleep(0.01)
            assert session.packets_received == 3 and session.receive_faults == 3
            assert session.transport is not None and not session.transport.is_closing()
        finally:
            sender.close()
            session.close()

    run_on(choice, scenario)


def _ipv6_available() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("choice", LOOPS)
def test_ipv6_media_with_an_ipv6_rtp_socket(start_endpoint: StartEndpoint, choice: EventLoopChoice) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        sink_transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=("::1", 0))
        try:
            async with start_endpoint(rtp_host="::1") as harness, open_peer() as peer:
                v4 = SDP.format(port=40000)
                peer.send(request("INVITE", peer.port, branch="z9hG4bKv4", call_id="v4", body=v4), harness.port)
                refused = await expect(peer, 488, call_id="v4")
                assert "IPv4 media is not supported here (RTP is on IPv6)" in (refused.headers.get("Warning") or "")
                v6 = SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP6 ::1").format(port=sink_transport.get_extra_info(
                    "sockname")[1])
                peer.send(request("INVITE", peer.port, branch="z9hG4bKv6", call_id="v6", body=v6), harness.port)
                channel = await asyncio.wait_for(harness.channels.get(), 3)
                await channel.answer()
                ok = await expect(peer, 200, call_id="v6")
                assert b"c=IN IP6 ::1" in ok.body
                await channel.play([PromptFile("en/short")])
                assert sink.packets >= 10
                await channel.hangup()
        finally:
            sink_transport.close()

    run_on(choice, scenario)


async def test_no_free_rtp_port_refuses_that_call_only(start_endpoint: StartEndpoint, peer: UdpPeer) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(50):  # an even port we hold, so the endpoint's only candidate is taken
        holder, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        port = holder.get_extra_info("sockname")[1]
        if port % 2 == 0:
            break
        holder.close()
    try:
        async with start_endpoint(rtp_port_min=port, rtp_port_max=port) as harness:
            peer.send(request("INVITE", peer.port, branch="z9hG4bKnoport", call_id="noport",
                              body=SDP.format(port=40000)), harness.port)
            await expect(peer, 503, call_id="noport")
            assert harness.endpoint.active_calls() == 0 and harness.endpoint.stats.call_faults == 0
            await still_serving(harness, peer, "z9hG4bKafternoport")
    finally:
        holder.close()


async def test_an_unexpected_fault_ends_that_call_or_message_only(
    start_endpoint: StartEndpoint, peer: UdpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.channels.sip import inboundcall

    async def broken_leg(*args: object) -> None:
        raise RuntimeError("a bug while opening the leg")

    def broken_register(request: SipRequest, now: float) -> None:
        raise RuntimeError("a bug in REGISTER handling")

    async with start_endpoint() as harness:
        monkeypatch.setattr(inboundcall, "open_inbound_leg", broken_leg)
        monkeypatch.setattr(harness.endpoint.registrations, "handle", broken_register)
        peer.send(request("INVITE", peer.port, branch="z9hG4bKbug", call_id="bug", body=SDP.format(port=40000)),
                  harness.port)
        await expect(peer, 503, call_id="bug")
        peer.send(request("REGISTER", peer.port, branch="z9hG4bKbugreg", call_id="bugreg"), harness.port)
        await still_serving(harness, peer, "z9hG4bKafterbug")
        assert harness.endpoint.stats.call_faults == 1 and harness.endpoint.stats.internal_errors == 1


async def test_an_invite_storm_keeps_the_timer_tables_bounded(start_endpoint: StartEndpoint, peer: UdpPeer) -> None:
    async with start_endpoint(max_transactions=500, flood_rate=0) as harness:  # every INVITE parsed
        endpoint = harness.endpoint
        bad = SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP6 ::1").format(port=40000)
        for n in range(5000):  # each refusal repeats until its ACK, which a storm never sends
            invite = request("INVITE", peer.port, branch=f"z9hG4bKstorm{n}", call_id=f"storm{n}", body=bad)
            endpoint.datagram_received(invite, ("127.0.0.1", peer.port))
        assert len(endpoint.retransmitter) <= 2000 and endpoint.server_transactions <= 500
        async with open_peer() as fresh:
            await still_serving(harness, fresh, "z9hG4bKafterinvitestorm")
