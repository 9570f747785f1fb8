"""The Asterisk end of an AudioSocket connection, shaped like the captures in tests/captures/asterisk."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from ivr.channels.audiosocket.protocol import Frame, FrameDecoder, encode, encode_dtmf, encode_uuid

CAPTURED_UUID = uuid.UUID("4f1c3e1a-7d2b-4c59-9a3e-2a1b0c9d8e7f")
# The first bytes of the first captured inbound audio frames (audiosocket-frames-with-rtp-echo.txt).
CAPTURED_AUDIO_HEADS = (bytes.fromhex("0000bc0afc13fc1a"), bytes.fromhex("04e204e704ef24f9"),
                        bytes.fromhex("04ee04e604e204e1"))


def captured_audio_frame(index: int) -> bytes:
    head = CAPTURED_AUDIO_HEADS[index % len(CAPTURED_AUDIO_HEADS)]
    return head + bytes(320 - len(head))


@dataclass
class FakeAsterisk:
    """Connects to the server, sends frames, and records what the server sends back."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: list[Frame] = field(default_factory=list)
    eof: asyncio.Event = field(default_factory=asyncio.Event)
    _decoder: FrameDecoder = field(default_factory=FrameDecoder)
    _task: asyncio.Task[None] | None = None
    # app_audiosocket's inactivity timer (round3/audiosocket-timeout-*.txt): no frame either way
    # for this long and Asterisk closes TCP (no 0x00 frame); EXEC AudioSocket answers
    # "200 result=-1" while the caller is still up. None: no timer (the older captures).
    inactivity: float | None = None
    timed_out: bool = False
    _last_activity: float = 0.0
    _timer: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, port: int, call_uuid: uuid.UUID | None = CAPTURED_UUID, *,
                      inactivity: float | None = None) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        side = cls(reader, writer, inactivity=inactivity)
        side._last_activity = asyncio.get_running_loop().time()
        side._task = asyncio.create_task(side._read())
        if call_uuid is not None:
            await side.send(encode_uuid(call_uuid))
        if inactivity is not None:
            side._timer = asyncio.create_task(side._watch(inactivity))
        return side

    async def _read(self) -> None:
        while data := await self.reader.read(4096):
            frames = self._decoder.feed(data)
            if frames:
                self._last_activity = asyncio.get_running_loop().time()
            self.received.extend(frames)
        self.eof.set()
        if self._timer is not None:
            self._timer.cancel()

    async def _watch(self, limit: float) -> None:
        loop = asyncio.get_running_loop()
        while not self.eof.is_set():
            idle = loop.time() - self._last_activity
            if idle >= limit:
                self.timed_out = True
                self.writer.close()  # "Reached timeout after 2000 ms of no activity": TCP closed, no 0x00
                return
            await asyncio.sleep(limit - idle)

    async def send(self, data: bytes) -> None:
        self._last_activity = asyncio.get_running_loop().time()
        self.writer.write(data)
        await self.writer.drain()

    async def dtmf(self, digits: str) -> None:
        for digit in digits:
            await self.send(encode_dtmf(digit))

    async def audio(self, pcm: bytes) -> None:
        for offset in range(0, len(pcm), 320):
            await self.send(encode(0x10, pcm[offset:offset + 320]))

    async def hangup_by_caller(self) -> None:
        """A caller BYE: Asterisk just closes TCP, no 0x00 frame."""
        self.writer.close()
        await self.writer.wait_closed()
        await self.wait_closed()

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Until the server closed (or our inactivity timer did: closing our side ends the read)."""
        await asyncio.wait_for(self.eof.wait(), timeout)
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
        if self._task is not None:
            await self._task

    def kinds(self) -> list[int]:
        return [f.kind for f in self.received]
