"""The endpoint's transactions over a real UDP socket, driven by a hand-written peer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.message import SipRequest, SipResponse, parse_message, tag_of
from tests.sip.conftest import UdpPeer, digest_authorization, open_peer

SDP = (
    "v=0\r\no=u 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def request(
    method: str,
    peer_port: int,
    *,
    branch: str = "z9hG4bKtest1",
    call_id: str = "call-1",
    cseq: int = 1,
    to_tag: str = "",
    body: str = "",
    extra: str = "",
) -> bytes:
    to = "<sip:100@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    headers = (
        f"{method} sip:100@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch={branch}\r\n"
        f'From: "Ana" <sip:+34600111222@127.0.0.1:{peer_port}>;tag=peer1\r\n'
        f"To: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {'INVITE' if method == 'ACK' else method}\r\n"
        f"Contact: <sip:ana@127.0.0.1:{peer_port}>\r\nMax-Forwards: 70\r\n{extra}"
    )
    if body:
        headers += "Content-Type: application/sdp\r\n"
    return (headers + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()


async def test_options_and_malformed(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        peer.send(request("OPTIONS", peer.port), harness.port)
        ok = await peer.expect_status(200)
        assert isinstance(ok, SipResponse) and "INVITE" in (ok.headers.get("Allow") or "")
        peer.send(b"\x00\x01garbage that is not SIP", harness.port)
        bad = request("INVITE", peer.port, branch="z9hG4bKbad").replace(b"Content-Length: 0", b"Content-Length: 500")
        peer.send(bad, harness.port)
        rejected = await peer.expect_status(400)
        assert isinstance(rejected, SipResponse) and rejected.branch == "z9hG4bKbad"
        peer.send(request("OPTIONS", peer.port, branch="z9hG4bKagain"), harness.port)
        assert (await peer.expect_status(200)).branch == "z9hG4bKagain"  # still alive
        assert harness.endpoint.stats.malformed == 2


async def test_invite_answer_retransmits_until_ack_then_bye(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        invite = request("INVITE", peer.port, body=SDP.format(port=40000))
        peer.send(invite, harness.port)
        assert (await peer.expect_status(100)).status == 100
        peer.send(invite, harness.port)  # a retransmission must not create a second call
        channel: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        assert channel.info.caller == "+34600111222" and channel.info.dialled == "100"
        assert channel.info.caller_name == "Ana"
        await channel.answer()
        first = await peer.expect_status(200)
        again = await peer.expect_status(200)  # timer G: repeated until the ACK
        assert first.to_bytes() == again.to_bytes()
        assert b"PCMA/8000" in first.body  # the offerer's first codec
        to_tag = tag_of(first.headers.get("To"))
        peer.send(request("ACK", peer.port, branch="z9hG4bKack", to_tag=to_tag), harness.port)
        await asyncio.sleep(0)  # let the ACK be read
        assert await _quiet(peer, 0.3), "200 OK still retransmitted after the ACK"
        assert harness.endpoint.stats.calls_in == 1
        peer.send(request("BYE", peer.port, branch="z9hG4bKbye", cseq=2, to_tag=to_tag), harness.port)
        assert (await peer.expect_status(200)).cseq == (2, "BYE")
        await asyncio.wait_for(channel.wait_hangup(), 2)
        assert channel.hung_up and channel.ended_by_caller


async def _quiet(peer: UdpPeer, seconds: float) -> bool:
    try:
        await peer.next(seconds)
    except TimeoutError:
        return True
    return False


async def test_cancel_before_answer_gets_487(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40002)), harness.port)
        channel: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        peer.send(request("CANCEL", peer.port), harness.port)
        statuses = {(await peer.expect_status(200)).cseq[1]}
        terminated = await peer.expect_status(487)
        assert statuses == {"CANCEL"} and terminated.cseq == (1, "INVITE")
        await asyncio.wait_for(channel.wait_hangup(), 2)
        peer.send(request("ACK", peer.port, to_tag=tag_of(terminated.headers.get("To"))), harness.port)


async def test_503_past_max_calls_and_488_without_common_codec(
    start_endpoint: Callable[..., Any], peer: UdpPeer
) -> None:
    async with start_endpoint(max_calls=1) as harness:
        g729 = SDP.format(port=40008).replace("RTP/AVP 8 101", "RTP/AVP 18").replace("PCMA", "G729")
        peer.send(request("INVITE", peer.port, branch="z9hG4bKthree", call_id="call-3", body=g729), harness.port)
        assert (await peer.expect_status(488)).call_id == "call-3"
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40004)), harness.port)
        await asyncio.wait_for(harness.channels.get(), 3)
        second = request("INVITE", peer.port, branch="z9hG4bKtwo", call_id="call-2", body=SDP.format(port=40006))
        peer.send(second, harness.port)
        busy = await peer.expect_status(503)
        assert busy.call_id == "call-2" and harness.endpoint.stats.calls_rejected == 1


def register_request(peer_port: int, *, branch: str, cseq: int, expires: int = 60, authorization: str = "") -> bytes:
    extra = f"Expires: {expires}\r\n" + (f"Authorization: {authorization}\r\n" if authorization else "")
    raw = request("REGISTER", peer_port, branch=branch, call_id="reg-1", cseq=cseq, extra=extra)
    return raw.replace(b"REGISTER sip:100@127.0.0.1", b"REGISTER sip:127.0.0.1").replace(
        b"To: <sip:100@", b"To: <sip:agent2@"
    )


async def test_register_makes_the_aor_reachable(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint(agent_secrets={"agent2": "s3cret"}) as harness:
        peer.send(register_request(peer.port, branch="z9hG4bKreg0", cseq=1), harness.port)
        challenge = await peer.expect_status(401)
        assert harness.endpoint.registrar.lookup("agent2", asyncio.get_running_loop().time()) is None

        def signed(branch: str, cseq: int, expires: int) -> bytes:
            auth = digest_authorization(
                challenge.headers.get("WWW-Authenticate") or "", user="agent2", password="s3cret",
                method="REGISTER", uri="sip:127.0.0.1", nc=cseq,
            )
            return register_request(peer.port, branch=branch, cseq=cseq, expires=expires, authorization=auth)

        peer.send(signed("z9hG4bKreg", 2, 60), harness.port)
        ok = await peer.expect_status(200)
        assert "expires=60" in (ok.headers.get("Contact") or "")
        assert harness.endpoint.resolve("sip:agent2@127.0.0.1") == f"sip:ana@127.0.0.1:{peer.port}"
        peer.send(signed("z9hG4bKunreg", 3, 0), harness.port)
        await peer.expect_status(200)
        assert harness.endpoint.registrar.lookup("agent2", asyncio.get_running_loop().time()) is None


async def test_info_dtmf_reaches_collect(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    from ivr.channel import InputSpec

    results: asyncio.Queue[str] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        result = await channel.collect([], InputSpec(max_digits=2, first_timeout=3))
        await results.put(result.digits)

    async with start_endpoint(handler) as harness:
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40010)), harness.port)
        ok = await peer.expect_status(200)
        to_tag = tag_of(ok.headers.get("To"))
        peer.send(request("ACK", peer.port, branch="z9hG4bKack", to_tag=to_tag), harness.port)
        for n, digit in enumerate("47"):
            info = request(
                "INFO",
                peer.port,
                branch=f"z9hG4bKinfo{n}",
                cseq=2 + n,
                to_tag=to_tag,
                extra="Content-Type: application/dtmf-relay\r\n",
            )
            body = f"Signal={digit}\r\nDuration=160\r\n"
            info = info.replace(b"Content-Length: 0\r\n\r\n", f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            peer.send(info, harness.port)
        assert await asyncio.wait_for(results.get(), 5) == "47"
        bye = await _next_request(peer, "BYE")
        assert bye.call_id == "call-1"


async def _next_request(peer: UdpPeer, method: str) -> SipRequest:
    while True:
        message = await peer.next(5)
        if isinstance(message, SipRequest) and message.method == method:
            return message


def test_request_helper_is_valid_sip() -> None:
    assert isinstance(parse_message(request("OPTIONS", 5070)), SipRequest)


async def test_cancel_after_answer_has_no_effect(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40012)), harness.port)
        channel: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        await channel.answer()
        ok = await peer.expect_status(200)
        peer.send(request("CANCEL", peer.port), harness.port)
        cancelled = await peer.expect_status(200)
        while cancelled.cseq[1] != "CANCEL":  # skip the 2xx retransmissions
            cancelled = await peer.expect_status(200)
        peer.send(request("ACK", peer.port, branch="z9hG4bKack", to_tag=tag_of(ok.headers.get("To"))), harness.port)
        assert not channel.hung_up
        await channel.hangup()


async def test_a_register_storm_keeps_the_tables_bounded(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint(agent_secrets={"agent2": "s3cret"}, max_transactions=100) as harness:
        endpoint = harness.endpoint
        for n in range(1500):
            raw = register_request(peer.port, branch=f"z9hG4bKstorm{n}", cseq=1)
            if n % 2:
                raw = raw.replace(b"sip:agent2@", f"sip:nobody{n}@".encode())  # AORs with no secret
            endpoint.datagram_received(raw.replace(b"reg-1", f"storm-{n}".encode()), ("127.0.0.1", peer.port))
        assert endpoint.server_transactions <= 100
        assert len(endpoint.registrar) == 0 and endpoint.registrar.aors == 0
        assert endpoint.registrations.auth.tracked_nonces == 0
        async with open_peer() as fresh:  # (the storm's answers fill the first peer's queue)
            # A retransmitted REGISTER still gets its 401 again (absorbed by its transaction).
            last = register_request(fresh.port, branch="z9hG4bKlast", cseq=1)
            fresh.send(last, harness.port)
            first = await fresh.expect_status(401)
            fresh.send(last, harness.port)
            again = await fresh.expect_status(401)
            assert again.branch == first.branch == "z9hG4bKlast"
            assert again.headers.get("WWW-Authenticate") == first.headers.get("WWW-Authenticate")
            fresh.send(request("OPTIONS", fresh.port, branch="z9hG4bKstormok"), harness.port)
            assert (await fresh.expect_status(200)).branch == "z9hG4bKstormok"


async def test_a_call_that_cannot_open_its_media_fails_alone(
    start_endpoint: Callable[..., Any], peer: UdpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.channels.sip import inboundcall

    real = inboundcall.open_inbound_leg
    failing = {"call-2"}

    async def open_leg(settings: Any, pacer: Any, request: SipRequest, *args: Any) -> Any:
        if request.call_id in failing:
            raise RuntimeError("a fault of this call alone")
        return await real(settings, pacer, request, *args)

    monkeypatch.setattr(inboundcall, "open_inbound_leg", open_leg)
    async with start_endpoint() as harness:
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40010)), harness.port)
        live: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        second = request("INVITE", peer.port, branch="z9hG4bKfail", call_id="call-2", body=SDP.format(port=40012))
        peer.send(second, harness.port)
        refused = await peer.expect_status(503)
        assert refused.call_id == "call-2" and harness.endpoint.stats.call_faults == 1
        third = request("INVITE", peer.port, branch="z9hG4bKok", call_id="call-3", body=SDP.format(port=40014))
        peer.send(third, harness.port)
        later: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        assert later.info.call_id != live.info.call_id
        assert not live.hung_up  # the live call went on
