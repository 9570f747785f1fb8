from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar, cast

import numpy as np
import pytest

from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.endpoint import SipEndpoint
from ivr.channels.sip.message import SipMessage, SipRequest, SipResponse, parse_message
from ivr.channels.sip.rtp import RtpPacket, parse_rtp
from ivr.settings import SipSettings

Handler = Callable[[SipChannel], Awaitable[None]]
T = TypeVar("T")


def write_tone(path: Path, seconds: float, freq: float = 440.0) -> Path:
    samples = (np.sin(2 * np.pi * freq * np.arange(int(8000 * seconds)) / 8000) * 8000).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    return path


@dataclass
class Harness:
    endpoint: SipEndpoint
    channels: asyncio.Queue[SipChannel] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None  # the endpoint's run(): done only if it stopped

    @property
    def port(self) -> int:
        return self.endpoint.address[1]


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    write_tone(tmp_path / "prompts" / "en" / "short.wav", 0.3)
    write_tone(tmp_path / "prompts" / "en" / "long.wav", 6.0)
    return tmp_path / "prompts"


@pytest.fixture
def start_endpoint(prompt_dir: Path) -> Callable[..., contextlib.AbstractAsyncContextManager[Harness]]:
    @contextlib.asynccontextmanager
    async def start(handler: Handler | None = None, **overrides: object) -> AsyncIterator[Harness]:
        options: dict[str, object] = {"port": 0, "rtp_port_min": 0, "t1": 0.05, "t2": 0.4} | overrides
        settings = SipSettings.model_validate(options)
        box: list[Harness] = []

        async def default(channel: SipChannel) -> None:
            await box[0].channels.put(channel)
            await channel.wait_hangup()

        library = AudioLibrary(lambda key: prompt_dir / f"{key}.wav")
        endpoint = SipEndpoint(settings, handler=handler or default, audio=library)
        harness = Harness(endpoint)
        box.append(harness)
        started = asyncio.Event()
        task = asyncio.create_task(endpoint.run(started))
        harness.task = task
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED, timeout=5)
        waiter.cancel()
        if task.done():
            task.result()
        try:
            yield harness
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return start


class LoopbackDatagrams(asyncio.DatagramProtocol, Generic[T]):
    """A test's UDP socket on loopback: what arrives, parsed, in arrival order; the port it got."""

    def __init__(self, parse: Callable[[bytes], T]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: asyncio.Queue[T] = asyncio.Queue()
        self._parse = parse

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait(self._parse(data))

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port


class UdpPeer(LoopbackDatagrams[SipMessage]):
    """A hand-driven SIP peer on loopback: send raw datagrams, await parsed messages."""

    def __init__(self) -> None:
        super().__init__(parse_message)

    def send(self, data: bytes | SipRequest, port: int) -> None:
        assert self.transport is not None
        raw = data.to_bytes() if isinstance(data, SipRequest) else data
        self.transport.sendto(raw, ("127.0.0.1", port))

    async def next(self, timeout: float = 3.0) -> SipMessage:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def expect_status(self, status: int, timeout: float = 3.0) -> SipResponse:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            message = await self.next(max(0.01, end - loop.time()))
            if isinstance(message, SipResponse) and message.status == status:
                return message


@pytest.fixture
async def peer() -> AsyncIterator[UdpPeer]:
    async with open_peer() as opened:
        yield opened


@pytest.fixture
async def agent_peer() -> AsyncIterator[UdpPeer]:
    """A second hand-driven peer, for the agent's leg of a bridged call."""
    async with open_peer() as opened:
        yield opened


@contextlib.asynccontextmanager
async def open_peer() -> AsyncIterator[UdpPeer]:
    """A :class:`UdpPeer` on the running loop (the ``peer`` fixture, for tests that pick their loop)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    try:
        yield protocol
    finally:
        transport.close()


class RtpSink(LoopbackDatagrams[RtpPacket]):
    """Where a test peer's SDP points: the RTP packets it receives."""

    def __init__(self) -> None:
        super().__init__(parse_rtp)


RtpSinks = Callable[[], Awaitable[RtpSink]]


@pytest.fixture
async def rtp_sinks() -> AsyncIterator[RtpSinks]:
    """Opens an :class:`RtpSink` on loopback at each call; all are closed after the test."""
    loop = asyncio.get_running_loop()
    opened: list[asyncio.BaseTransport] = []

    async def make() -> RtpSink:
        transport, protocol = await loop.create_datagram_endpoint(RtpSink, local_addr=("127.0.0.1", 0))
        opened.append(transport)
        return protocol

    try:
        yield make
    finally:
        for transport in opened:
            transport.close()


def digest_authorization(
    challenge: str, *, user: str, password: str, method: str, uri: str, nc: int = 1, cnonce: str = "0a4f113b"
) -> str:
    """A client's ``Authorization`` for a ``WWW-Authenticate`` value, computed here from RFC 7616
    (not with the module under test): H(H(user:realm:pass):nonce:nc:cnonce:auth:H(method:uri))."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.partition(" ")[2]))
    algorithm = params.get("algorithm", "MD5")

    def h(text: str) -> str:
        data = text.encode()
        return hashlib.sha256(data).hexdigest() if algorithm == "SHA-256" else hashlib.md5(data).hexdigest()

    count = f"{nc:08x}"
    ha1, ha2 = h(f"{user}:{params['realm']}:{password}"), h(f"{method}:{uri}")
    response = h(f"{ha1}:{params['nonce']}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}, qop=auth, nc={count}, cnonce="{cnonce}"'
    )
