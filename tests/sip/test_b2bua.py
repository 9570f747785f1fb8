"""B2BUA over real sockets with hand-driven peers: CANCEL when the caller leaves during ringing,
RTP relayed both ways, and a caller BYE ending the agent leg."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ivr.channel import ConnectResult, DialStatus
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.message import SipRequest, SipResponse, response_to, tag_of
from ivr.channels.sip.rtp import RtpPacket, build_rtp
from ivr.channels.sip.sdp import parse_sdp
from tests.sip.conftest import RtpSinks, UdpPeer
from tests.sip.test_endpoint import SDP, request


async def _next_request(peer: UdpPeer, method: str) -> SipRequest:
    while True:
        message = await peer.next(5)
        if isinstance(message, SipRequest) and message.method == method:
            return message


async def _answered_caller(peer: UdpPeer, port: int, media_port: int) -> SipResponse:
    peer.send(request("INVITE", peer.port, body=SDP.format(port=media_port)), port)
    ok = await peer.expect_status(200)
    peer.send(request("ACK", peer.port, branch="z9hG4bKack", to_tag=tag_of(ok.headers.get("To"))), port)
    return ok


async def _agent_answers(agent_peer: UdpPeer, invite: SipRequest, port: int, media_port: int) -> None:
    """The agent's phone answers ``invite`` (its media at ``media_port``) and waits for the ACK."""
    agent_ok = response_to(invite, 200, "OK", to_tag="agenttag", body=SDP.format(port=media_port).encode())
    agent_ok.headers.add("Contact", f"<sip:agent1@127.0.0.1:{agent_peer.port}>")
    agent_ok.headers.add("Content-Type", "application/sdp")
    agent_peer.send(agent_ok.to_bytes(), port)
    await _next_request(agent_peer, "ACK")


async def test_caller_leaving_while_the_agent_rings_cancels_it(
    start_endpoint: Callable[..., Any], peer: UdpPeer, agent_peer: UdpPeer, rtp_sinks: RtpSinks
) -> None:
    results: asyncio.Queue[ConnectResult] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        await results.put(await channel.connect(f"sip:agent1@127.0.0.1:{agent_peer.port}", timeout=10))

    async with start_endpoint(handler) as harness:
        ok = await _answered_caller(peer, harness.port, (await rtp_sinks()).port)
        invite = await _next_request(agent_peer, "INVITE")
        agent_peer.send(response_to(invite, 180, "Ringing", to_tag="agenttag").to_bytes(), harness.port)
        caller_bye = request("BYE", peer.port, branch="z9hG4bKbye", cseq=2, to_tag=tag_of(ok.headers.get("To")))
        peer.send(caller_bye, harness.port)
        cancel = await _next_request(agent_peer, "CANCEL")
        assert cancel.branch == invite.branch and cancel.cseq == (invite.cseq[0], "CANCEL")
        agent_peer.send(response_to(cancel, 200, "OK", to_tag="agenttag").to_bytes(), harness.port)
        agent_peer.send(response_to(invite, 487, "Request Terminated", to_tag="agenttag").to_bytes(), harness.port)
        ack = await _next_request(agent_peer, "ACK")
        assert ack.branch == invite.branch
        result = await asyncio.wait_for(results.get(), 5)
    assert result.status is DialStatus.CANCEL


async def test_bridge_relays_media_both_ways_and_caller_bye_ends_the_agent(
    start_endpoint: Callable[..., Any], peer: UdpPeer, agent_peer: UdpPeer, rtp_sinks: RtpSinks
) -> None:
    caller_media, agent_media = await rtp_sinks(), await rtp_sinks()
    results: asyncio.Queue[ConnectResult] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        await results.put(await channel.connect(f"sip:agent1@127.0.0.1:{agent_peer.port}", timeout=10))

    async with start_endpoint(handler) as harness:
        ok = await _answered_caller(peer, harness.port, caller_media.port)
        our_caller_side = parse_sdp(ok.body).port
        invite = await _next_request(agent_peer, "INVITE")
        assert b"PCMA/8000" in invite.body and b"PCMU" not in invite.body  # the caller's codec only
        our_agent_side = parse_sdp(invite.body).port
        await _agent_answers(agent_peer, invite, harness.port, agent_media.port)

        assert caller_media.transport is not None and agent_media.transport is not None
        hello = build_rtp(RtpPacket(8, True, 1, 160, 0xCA11E7, b"\xd5" * 160))
        caller_media.transport.sendto(hello, ("127.0.0.1", our_caller_side))
        relayed = await asyncio.wait_for(agent_media.received.get(), 3)
        assert relayed.ssrc == 0xCA11E7 and relayed.payload == b"\xd5" * 160
        back = build_rtp(RtpPacket(101, True, 7, 320, 0xA6E47, b"\x05\x0a\x00\xa0"))  # a DTMF event
        agent_media.transport.sendto(back, ("127.0.0.1", our_agent_side))
        returned = await asyncio.wait_for(caller_media.received.get(), 3)
        assert (returned.payload_type, returned.ssrc) == (101, 0xA6E47)

        peer.send(
            request("BYE", peer.port, branch="z9hG4bKbye", cseq=2, to_tag=tag_of(ok.headers.get("To"))),
            harness.port,
        )
        agent_bye = await _next_request(agent_peer, "BYE")
        assert agent_bye.call_id == invite.call_id and tag_of(agent_bye.headers.get("To")) == "agenttag"
        agent_peer.send(response_to(agent_bye, 200, "OK").to_bytes(), harness.port)
        result = await asyncio.wait_for(results.get(), 5)
    assert result.status is DialStatus.ANSWER
