"""The desk's hold, resume and transfer on the built-in endpoint, over real sockets: on hold the
caller gets Puente's music (our SSRC, not the agent's) and the agent nothing; resume relays again;
a transfer sends the agent a BYE and the caller's connect returns with the caller still up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ivr.callcontrol import CallControls, ControlAction, ControlUnavailable, TransferTarget
from ivr.channel import ConnectResult, DialStatus
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.message import response_to, tag_of
from ivr.channels.sip.rtp import RtpPacket, build_rtp
from ivr.channels.sip.sdp import parse_sdp
from tests.sip.conftest import RtpSink, RtpSinks, UdpPeer
from tests.sip.test_b2bua import _agent_answers, _answered_caller, _next_request

AGENT_SSRC, CALLER_SSRC = 0xA6E47, 0xCA11E7


async def _packet_from(sink: RtpSink, ssrc: int | None, *, other_than: int | None = None,
                       within: float = 3.0) -> RtpPacket:
    """The next packet with that SSRC (or with any SSRC but ``other_than``), before the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        packet = await asyncio.wait_for(sink.received.get(), max(0.01, deadline - loop.time()))
        if (ssrc is not None and packet.ssrc == ssrc) or (other_than is not None and packet.ssrc != other_than):
            return packet


def _drain(sink: RtpSink) -> list[RtpPacket]:
    out = []
    while not sink.received.empty():
        out.append(sink.received.get_nowait())
    return out


async def test_hold_music_resume_relay_and_transfer_release_the_agent(
    start_endpoint: Callable[..., Any], peer: UdpPeer, agent_peer: UdpPeer, rtp_sinks: RtpSinks
) -> None:
    caller_media, agent_media = await rtp_sinks(), await rtp_sinks()
    controls = CallControls()
    bridge = controls.open("call-1", "agent1", "support", datetime.now(UTC))
    results: asyncio.Queue[tuple[ConnectResult, bool]] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        result = await channel.connect(f"sip:agent1@127.0.0.1:{agent_peer.port}", timeout=10, bridge=bridge)
        await results.put((result, channel.hung_up))

    async with start_endpoint(handler) as harness:
        ok = await _answered_caller(peer, harness.port, caller_media.port)
        caller_side = parse_sdp(ok.body).port
        with_no_agent = bridge.why_not(ControlAction.HOLD)
        invite = await _next_request(agent_peer, "INVITE")
        agent_side = parse_sdp(invite.body).port
        await _agent_answers(agent_peer, invite, harness.port, agent_media.port)
        assert with_no_agent == "the agent has not answered yet"
        assert bridge.ops is not None and bridge.ops.backend == "sip"
        assert caller_media.transport is not None and agent_media.transport is not None
        agent_out, caller_out = agent_media.transport, caller_media.transport

        def from_agent(seq: int) -> None:
            packet = RtpPacket(8, False, seq, seq * 160, AGENT_SSRC, b"\xd5" * 160)
            agent_out.sendto(build_rtp(packet), ("127.0.0.1", agent_side))

        def from_caller(seq: int) -> None:
            packet = RtpPacket(8, False, seq, seq * 160, CALLER_SSRC, b"\x55" * 160)
            caller_out.sendto(build_rtp(packet), ("127.0.0.1", caller_side))

        from_agent(1)
        assert (await _packet_from(caller_media, AGENT_SSRC)).ssrc == AGENT_SSRC  # bridged

        await controls.hold(bridge, datetime.now(UTC))
        assert bridge.held and bridge.why_not(ControlAction.HOLD) == "the caller is already on hold"
        music = await _packet_from(caller_media, None, other_than=AGENT_SSRC)  # Puente's own stream
        assert music.ssrc not in (AGENT_SSRC, CALLER_SSRC) and len(music.payload) == 160
        _drain(agent_media)
        for seq in range(2, 6):
            from_caller(seq)  # the agent must not hear the caller on hold
            from_agent(seq)  # nor the caller the agent
        await _packet_from(caller_media, music.ssrc)  # music goes on after those were sent
        await _packet_from(caller_media, music.ssrc)
        assert not [p for p in _drain(agent_media) if p.ssrc == CALLER_SSRC]
        assert not [p for p in _drain(caller_media) if p.ssrc == AGENT_SSRC]

        await controls.resume(bridge)
        from_caller(10)
        assert (await _packet_from(agent_media, CALLER_SSRC)).sequence == 10  # relayed again

        await controls.transfer(bridge, TransferTarget(queue="billing", by="alex"))
        agent_bye = await _next_request(agent_peer, "BYE")
        assert tag_of(agent_bye.headers.get("To")) == "agenttag"
        agent_peer.send(response_to(agent_bye, 200, "OK").to_bytes(), harness.port)
        result, caller_gone = await asyncio.wait_for(results.get(), 5)
        assert result.status is DialStatus.ANSWER and not caller_gone  # the caller stays with Puente
        try:
            await controls.hold(bridge, datetime.now(UTC))
        except ControlUnavailable as exc:
            assert "transferred to billing" in str(exc)
        else:
            raise AssertionError("a transferred call cannot be held")


