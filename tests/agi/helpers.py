from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.connection import AgiConnection
from ivr.channels.agi.environment import AgiEnvironment
from ivr.channels.agi.errors import AgiError
from ivr.channels.agi.server import AgiServer
from tests.support.agi_driver import AsteriskDriver, DriverResult, Responder


class Outcome:
    """What a test script saw (its return value or the exception it raised)."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = asyncio.Event()
        self.channel: AgiChannel | None = None


Script = Callable[[AgiChannel], Awaitable[None]]


def script_of(body: Callable[[AgiChannel], Awaitable[Any]], outcome: Outcome) -> Script:
    async def script(channel: AgiChannel) -> None:
        outcome.channel = channel
        try:
            outcome.value = await body(channel)
        except Exception as exc:
            outcome.error = exc
            raise
        finally:
            outcome.done.set()

    return script


async def drive(server: AgiServer, respond: Responder, *, env: bytes | None = None) -> DriverResult:
    return await asyncio.wait_for(AsteriskDriver(server.port, respond, env=env).run(), 15)


class PeerTransport(asyncio.Transport):
    """Asterisk's end of the socket, in memory: each command releases the next chunk of its side
    (then the end of stream), like a peer that answers in turn. Closing it reports the loss once,
    on the next loop turn, as a real transport does."""

    def __init__(self, protocol: asyncio.Protocol, chunks: list[bytes]) -> None:
        super().__init__()
        self.closed = False
        self._protocol = protocol
        self._chunks = chunks
        self._lost = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        loop = asyncio.get_running_loop()
        if self._chunks:
            loop.call_soon(self._deliver, self._chunks.pop(0))
        if not self._chunks:
            loop.call_soon(self._lose)

    def _deliver(self, chunk: bytes) -> None:
        if not self._lost:
            self._protocol.data_received(chunk)

    def _lose(self) -> None:
        if not self._lost:
            self._lost = True
            self._protocol.connection_lost(None)

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0  # every write reaches the peer at once

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self._lose)

    def abort(self) -> None:
        self.close()


class RecordingListener:
    """Every outcome a connection reports, in order."""

    def __init__(self) -> None:
        self.outcomes: list[AgiEnvironment | AgiError] = []
        self.opened = self.ended = 0

    def connection_opened(self, connection: AgiConnection) -> None:
        self.opened += 1

    def connection_ended(self, connection: AgiConnection) -> None:
        self.ended += 1

    def environment_ready(self, connection: AgiConnection, env: AgiEnvironment) -> None:
        self.outcomes.append(env)

    def environment_failed(self, connection: AgiConnection, error: AgiError) -> None:
        self.outcomes.append(error)
