"""The AudioSocket TCP server: Asterisk connects (``EXEC AudioSocket <uuid>,<host:port>``), sends the
uuid frame, then audio and DTMF; whoever called :meth:`AudioSocketServer.expect` for that uuid gets
the :class:`AudioSocketSession`. Unknown uuids and malformed streams are closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any

from ivr.channels.audiosocket.protocol import (
    Frame,
    FrameDecoder,
    FrameKind,
    ProtocolError,
    check_inbound,
    encode_audio,
    encode_hangup,
    parse_dtmf,
    parse_uuid,
)
from ivr.errors import listen_error
from ivr.speech.base import FRAME_BYTES, FRAME_MS

log = logging.getLogger(__name__)
READ_SIZE = 4096
SILENCE_FRAME = bytes(FRAME_BYTES)


class CloseReason(enum.StrEnum):
    PEER_CLOSED = "peer_closed"  # Asterisk closed TCP: the caller hung up
    HANGUP_FRAME = "hangup_frame"  # Asterisk sent 0x00
    PROTOCOL_ERROR = "protocol_error"  # we closed it: the stream made no sense
    LOCAL = "local"  # we hung up


@dataclass(frozen=True, slots=True)
class AudioIn:
    pcm: bytes


@dataclass(frozen=True, slots=True)
class DtmfIn:
    digit: str


@dataclass(frozen=True, slots=True)
class ErrorIn:
    code: bytes  # Asterisk's error payload


@dataclass(frozen=True, slots=True)
class Closed:
    reason: CloseReason


SocketEvent = AudioIn | DtmfIn | ErrorIn | Closed


class AudioSocketSession:
    """One Asterisk channel's media over TCP. Read with :meth:`events`; write audio; hang up."""

    def __init__(self, call_uuid: uuid.UUID, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 decoder: FrameDecoder, early: list[Frame]) -> None:
        self.uuid = call_uuid
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._queued: deque[Frame] = deque(early)
        self._closed = asyncio.Event()
        self.close_reason: CloseReason | None = None
        self._write_lock = asyncio.Lock()
        self.last_sent: float | None = None  # loop time of our last frame (Asterisk's 2 s timer)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def events(self) -> AsyncIterator[SocketEvent]:
        """Inbound audio / DTMF / error events, ending with one :class:`Closed`."""
        while True:
            frame = await self._next_frame()
            if frame is None:
                yield Closed(self.close_reason or CloseReason.PEER_CLOSED)
                return
            try:
                event = _to_event(check_inbound(frame))
            except ProtocolError as exc:
                log.warning("audiosocket protocol error, closing", extra={"uuid": str(self.uuid), "error": str(exc)})
                await self._close(CloseReason.PROTOCOL_ERROR)
                yield Closed(CloseReason.PROTOCOL_ERROR)
                return
            if isinstance(event, Closed):
                await self._close(CloseReason.HANGUP_FRAME)
                yield event
                return
            yield event

    # Alias matching the brief's wording.
    frames = events

    async def _next_frame(self) -> Frame | None:
        while not self._queued:
            if self.closed:
                return None
            try:
                data = await self._reader.read(READ_SIZE)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                await self._close(CloseReason.PEER_CLOSED)
                return None
            self._queued.extend(self._decoder.feed(data))
        return self._queued.popleft()

    async def send_audio(self, pcm: bytes, *, stop: asyncio.Event | None = None) -> bool:
        """Stream slin audio in 20 ms frames at real-time pace; False if ``stop`` cut it short.

        Pacing follows the clock (not sleep after sleep) so it does not drift behind.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
            if (stop is not None and stop.is_set()) or self.closed:
                return False
            await self._write(encode_audio(pcm[offset:offset + FRAME_BYTES]))
            due = start + (index + 1) * FRAME_MS / 1000
            delay = due - loop.time()
            if stop is None:
                await asyncio.sleep(max(delay, 0))
            elif delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
                else:
                    return False
        return not self.closed

    async def send_silence(self) -> None:
        """One 20 ms frame of silence: keeps app_audiosocket's 2000 ms inactivity timer (which
        counts frames either way) from closing a socket the caller is silent on."""
        await self._write(encode_audio(SILENCE_FRAME))

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            if self.closed:
                return
            self.last_sent = asyncio.get_running_loop().time()
            self._writer.write(data)
            try:
                await self._writer.drain()
            except (ConnectionError, OSError):
                await self._close(CloseReason.PEER_CLOSED)

    async def hangup(self) -> None:
        """Send 0x00 then close; Asterisk's AudioSocket() returns and the dialplan/AGI goes on."""
        if self.closed:
            return
        await self._write(encode_hangup())
        await self._close(CloseReason.LOCAL)

    async def close(self) -> None:
        await self._close(CloseReason.LOCAL)

    async def _close(self, reason: CloseReason) -> None:
        if self.closed:
            return
        self.close_reason = reason
        self._closed.set()
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):  # the peer is gone: nothing to flush
            await self._writer.wait_closed()


def _to_event(frame: Frame) -> SocketEvent:
    if frame.is_audio:
        return AudioIn(frame.payload)
    if frame.kind == FrameKind.DTMF:
        return DtmfIn(parse_dtmf(frame))
    if frame.kind == FrameKind.HANGUP:
        return Closed(CloseReason.HANGUP_FRAME)
    if frame.kind == FrameKind.ERROR:
        return ErrorIn(frame.payload)
    raise ProtocolError(f"unexpected frame kind 0x{frame.kind:02x} after the uuid")


class Expected:
    """A registered uuid: await it for the session (bounded by ``timeout``), ``cancel`` to drop it."""

    def __init__(self, server: AudioSocketServer, call_uuid: uuid.UUID, future: asyncio.Future[AudioSocketSession],
                 timeout: float) -> None:
        self.uuid = call_uuid
        self._server = server
        self.future = future
        self._timeout = timeout

    async def wait(self) -> AudioSocketSession:
        try:
            return await asyncio.wait_for(asyncio.shield(self.future), self._timeout)
        finally:
            self._server._forget(self.uuid)

    def __await__(self) -> Generator[Any, None, AudioSocketSession]:
        return self.wait().__await__()

    def cancel(self) -> None:
        self._server._forget(self.uuid)
        if not self.future.done():
            self.future.cancel()


class AudioSocketServer:
    """A :class:`~ivr.composition.Component`: ``run`` serves until cancelled."""

    name = "audiosocket"

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, *, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._pending: dict[uuid.UUID, asyncio.Future[AudioSocketSession]] = {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._sessions: set[AudioSocketSession] = set()
        self.failed_connections = 0  # connections ended by an unexpected fault (logged)

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the AudioSocket server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    def expect(self, call_uuid: uuid.UUID, timeout: float | None = None) -> Expected:
        if call_uuid in self._pending:
            raise ValueError(f"uuid {call_uuid} is already expected")
        future: asyncio.Future[AudioSocketSession] = asyncio.get_running_loop().create_future()
        self._pending[call_uuid] = future
        return Expected(self, call_uuid, future, self.connect_timeout if timeout is None else timeout)

    def _forget(self, call_uuid: uuid.UUID) -> None:
        self._pending.pop(call_uuid, None)

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise listen_error("AudioSocket", self.host, self.port, "IVR_AUDIOSOCKET__PORT", exc) from exc
        log.info("audiosocket listening", extra={"host": self.host, "port": self.bound_port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            await session.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def run(self, started: asyncio.Event) -> None:
        await self.start()
        started.set()
        try:
            await asyncio.Future()  # until cancelled
        finally:
            await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except Exception:
            # An unexpected fault on one connection ends that connection only (its AGI call's wait
            # for it times out and the call goes on without speech); the server keeps serving.
            self.failed_connections += 1
            log.exception("audiosocket connection failed")
            writer.close()
        finally:
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        try:
            async with asyncio.timeout(self.connect_timeout):
                frames = await _first_frames(reader, decoder)
            call_uuid = parse_uuid(frames[0])
        except (TimeoutError, ProtocolError, ConnectionError) as exc:
            log.warning("audiosocket connection refused", extra={"error": str(exc) or type(exc).__name__})
            writer.close()
            return
        future = self._pending.pop(call_uuid, None)
        if future is None or future.done():
            log.warning("audiosocket connection for an unknown uuid, closing", extra={"uuid": str(call_uuid)})
            writer.close()
            return
        session = AudioSocketSession(call_uuid, reader, writer, decoder, frames[1:])
        self._sessions.add(session)
        future.set_result(session)
        try:
            # The connection lives as long as its consumer uses it; the consumer closes it.
            await session.wait_closed()
        finally:
            self._sessions.discard(session)


async def _first_frames(reader: asyncio.StreamReader, decoder: FrameDecoder) -> list[Frame]:
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise ConnectionError("closed before the uuid frame")
        frames = decoder.feed(data)
        if frames:
            return frames
