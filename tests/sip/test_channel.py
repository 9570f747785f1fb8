"""SipChannel behaviour over a real socket: hold music with keys and wake-ups, hangups, timer H,
and an endpoint that survives hostile datagrams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from ivr.channel import CallerHungUp, InputMode, InputSpec, PromptFile
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.message import SipRequest, SipResponse, tag_of
from ivr.channels.sip.metrics import SipCollector
from ivr.channels.sip.stats import EndpointStats
from tests.sip.conftest import UdpPeer
from tests.sip.test_endpoint import SDP, request


def info_digit(peer: UdpPeer, to_tag: str, digit: str, n: int) -> bytes:
    info = request(
        "INFO",
        peer.port,
        branch=f"z9hG4bKi{n}",
        cseq=10 + n,
        to_tag=to_tag,
        extra="Content-Type: application/dtmf-relay\r\n",
    )
    body = f"Signal={digit}\r\nDuration=160\r\n"
    return info.replace(b"Content-Length: 0\r\n\r\n", f"Content-Length: {len(body)}\r\n\r\n{body}".encode())


async def _call(peer: UdpPeer, harness: Any, media_port: int = 40100) -> tuple[SipChannel, str]:
    peer.send(request("INVITE", peer.port, body=SDP.format(port=media_port)), harness.port)
    channel: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
    await channel.answer()
    ok = await peer.expect_status(200)
    to_tag = tag_of(ok.headers.get("To"))
    peer.send(request("ACK", peer.port, branch="z9hG4bKack", to_tag=to_tag), harness.port)
    return channel, to_tag


async def test_hold_returns_on_key_on_wake_and_raises_after_hangup(
    start_endpoint: Callable[..., Any], peer: UdpPeer
) -> None:
    async with start_endpoint() as harness:
        channel, to_tag = await _call(peer, harness)
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        loop.call_soon(wake.set)
        started = loop.time()
        assert await channel.hold(5.0, interrupt_digits="1", wake=wake) is None
        assert loop.time() - started < 2.5  # woken, not the 5 s hold

        pressed = asyncio.create_task(channel.hold(5.0, interrupt_digits="12"))
        await asyncio.sleep(0)  # one loop turn: the task reaches its first await (keys before are dropped)
        peer.send(info_digit(peer, to_tag, "9", 1), harness.port)  # not an interrupt key: ignored
        peer.send(info_digit(peer, to_tag, "2", 2), harness.port)
        assert await asyncio.wait_for(pressed, 3) == "2"

        short = await channel.hold(0.1)
        assert short is None
        assert harness.endpoint.pacing.frames_sent > 0  # music went out as RTP

        peer.send(request("BYE", peer.port, branch="z9hG4bKbye", cseq=20, to_tag=to_tag), harness.port)
        await asyncio.wait_for(channel.wait_hangup(), 3)
        with pytest.raises(CallerHungUp):
            await channel.hold(1.0)
        with pytest.raises(CallerHungUp):
            await channel.collect([PromptFile("en/short")], InputSpec())


async def test_collect_terminator_timeouts_and_barge_in(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        channel, to_tag = await _call(peer, harness, 40102)
        spec = InputSpec(max_digits=4, first_timeout=2, inter_digit_timeout=1)
        task = asyncio.create_task(channel.collect([PromptFile("en/long")], spec))
        await asyncio.sleep(0)  # one loop turn: collect starts listening
        for n, digit in enumerate("45#"):
            peer.send(info_digit(peer, to_tag, digit, n), harness.port)
        result = await asyncio.wait_for(task, 3)  # the 6 s prompt was cut by the first key
        assert (result.mode, result.digits) == (InputMode.DTMF, "45")
        nothing = await channel.collect([], InputSpec(first_timeout=0.2))
        assert nothing.mode is InputMode.NONE
        missing = await channel.play([PromptFile("en/not-there"), PromptFile("en/short")])
        assert missing is None  # a missing prompt is skipped (logged), the call goes on
        await channel.hangup()
        while not isinstance(message := await peer.next(3), SipRequest):
            assert isinstance(message, SipResponse) and message.cseq[1] == "INFO"
        assert message.method == "BYE"


async def test_prompt_starts_are_timed_from_the_turn_or_the_key_before_them(
    start_endpoint: Callable[..., Any], peer: UdpPeer
) -> None:
    """What bench/speech_load.py's "prompt p99" reads: each turn's first prompt, not hold music."""
    async with start_endpoint() as harness:
        channel, to_tag = await _call(peer, harness, 40106)
        starts = harness.endpoint.pacing.prompt_starts
        await channel.play([PromptFile("en/short"), PromptFile("en/short")])
        assert len(starts) == 1  # the turn's first prompt only
        task = asyncio.create_task(channel.collect([PromptFile("en/long")], InputSpec(max_digits=1)))
        deadline = asyncio.get_running_loop().time() + 3
        while len(starts) < 2:  # the key comes once the prompt is heard (a key before its first frame times no start)
            assert asyncio.get_running_loop().time() < deadline, "the collect's prompt never started"
            await asyncio.sleep(0.005)
        peer.send(info_digit(peer, to_tag, "3", 1), harness.port)
        assert (await asyncio.wait_for(task, 3)).digits == "3"
        await asyncio.sleep(0.1)  # the flow working before its next prompt: counted in that prompt's start
        await channel.play([PromptFile("en/short")])
        await channel.hold(0.1)  # music is not a prompt
        assert len(starts) == 3
        assert 0.0 <= starts[1] < 0.5  # the collect's prompt, from its turn start
        assert 0.1 <= starts[2] < 0.6  # from the key, so the 100 ms wait is in it
        exported = {m.name: m for m in SipCollector(EndpointStats(), harness.endpoint.pacing).collect()}
        p99 = next(s.value for s in exported["puente_prompt_start_seconds"].samples if s.labels["quantile"] == "0.99")
        assert p99 == max(starts)
        await channel.hangup()


async def test_no_ack_ends_the_call_with_bye(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint(t1=0.01, t2=0.04) as harness:  # timer H = 64 * T1 = 0.64 s
        peer.send(request("INVITE", peer.port, body=SDP.format(port=40104)), harness.port)
        channel: SipChannel = await asyncio.wait_for(harness.channels.get(), 3)
        await channel.answer()
        await asyncio.wait_for(channel.wait_hangup(), 3)
        seen: list[str] = []
        while True:
            message = await peer.next(3)
            if isinstance(message, SipRequest):
                assert message.method == "BYE"
                break
            assert isinstance(message, SipResponse)
            seen.append(str(message.status))
        assert seen.count("200") >= 5  # the 2xx was repeated until timer H


HOSTILE = [
    b"",
    b"\r\n\r\n",
    b"SIP/2.0 200 OK\r\n\r\n",
    b"SIP/2.0 999999 Nope\r\nVia: x\r\n\r\n",
    b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKh\r\nFrom: a;tag=1\r\nTo: b\r\n"
    b"Call-ID: h1\r\nCSeq: 1 INVITE\r\nContent-Length: 5\r\n\r\nhello",
    b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP [::1\r\nFrom: a\r\nTo: b\r\nCall-ID: h2\r\nCSeq: 1 INVITE\r\n\r\n",
    b"BYE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKb\r\nFrom: a;tag=1\r\nTo: b;tag=2\r\n"
    b"Call-ID: nope\r\nCSeq: 2 BYE\r\n\r\n",
    b"CANCEL sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKc\r\nFrom: a;tag=1\r\nTo: b\r\n"
    b"Call-ID: nope\r\nCSeq: 1 CANCEL\r\n\r\n",
    b"REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKr\r\nFrom: a;tag=1\r\nTo: junk\r\n"
    b"Call-ID: r\r\nCSeq: 1 REGISTER\r\nContact: *\r\n\r\n",
    b"ACK sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKa\r\nFrom: a\r\nTo: b\r\nCall-ID: q\r\n"
    b"CSeq: 1 ACK\r\n\r\n",
    bytes(range(256)) * 20,
    b"X" * 70_000,
]


async def test_hostile_datagrams_never_stop_the_endpoint(start_endpoint: Callable[..., Any], peer: UdpPeer) -> None:
    async with start_endpoint() as harness:
        for data in HOSTILE:
            harness.endpoint.datagram_received(data, ("127.0.0.1", peer.port))  # directly: no UDP size cap
        peer.send(request("OPTIONS", peer.port, branch="z9hG4bKalive"), harness.port)
        alive = await peer.expect_status(200)
        assert alive.branch == "z9hG4bKalive"
        assert harness.endpoint.active_calls() == 0


async def test_keys_typed_ahead_are_buffered_for_the_next_input(
    start_endpoint: Callable[..., Any], peer: UdpPeer
) -> None:
    # #15 item 6: the second key of a call reached the endpoint while the flow was between two
    # menus (a prompt that does not listen, a recognizer being built): it must wait for the next
    # input, not be dropped by it.
    async with start_endpoint() as harness:
        channel, to_tag = await _call(peer, harness, 40104)
        peer.send(info_digit(peer, to_tag, "7", 1), harness.port)  # nothing listens yet
        await peer.expect_status(200)
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = await channel.collect([PromptFile("en/long")], InputSpec(max_digits=1, first_timeout=2))
        assert (first.mode, first.digits) == (InputMode.DTMF, "7")
        assert loop.time() - started < 2.0  # the 6 s prompt stopped at once for the buffered key

        short = asyncio.create_task(channel.play([PromptFile("en/short")]))  # does not listen for keys
        peer.send(info_digit(peer, to_tag, "3", 2), harness.port)
        await peer.expect_status(200)
        assert await asyncio.wait_for(short, 5) is None
        second = await channel.collect([], InputSpec(max_digits=1, first_timeout=0.5))
        assert (second.mode, second.digits) == (InputMode.DTMF, "3")
        await channel.hangup()


async def test_a_recognizer_that_cannot_be_built_means_keys_only() -> None:
    # Media or speech trouble never costs the caller the menu: the turn goes on with keys.
    from ivr.channel import Grammar, InputResult
    from ivr.channels.sip.speech import listen
    from ivr.speech.base import SpeechError

    class Runner:
        async def open(self, engine: object, grammar: Grammar) -> object:
            raise SpeechError("decoder could not be built")

    class Engines:
        runner = Runner()

        def engine_for(self, language: str) -> object:
            return object()

    class Keys:
        asked: list[InputSpec] = []

        async def collect_digits(self, prompts: object, spec: InputSpec) -> InputResult:
            self.asked.append(spec)
            return InputResult(InputMode.DTMF, digits="1")

    channel, spec = Keys(), InputSpec(grammar=Grammar("en", {"billing": "1"}))
    result = await listen(channel, Engines(), [], spec)  # type: ignore[arg-type]
    assert (result.mode, result.digits) == (InputMode.DTMF, "1") and channel.asked == [spec]
