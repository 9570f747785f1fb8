"""One FastAGI connection, as an asyncio (buffered) protocol: the environment block, then commands.

Bytes are parsed the moment they arrive (``data_received``): the ``agi_*`` block, then one reply
per command. A reply completes the future its command awaits; nothing else wakes up, so a command
costs one write, one read and one task step (no stream reader, no hand-off between tasks).

Asterisk pushes an unsolicited ``HANGUP`` line at any moment: between a command and its reply
(``200 result=-1``, then ``HANGUP``, then the reply to the next command) or while no command is in
flight. Either way it is taken as it arrives and marks the call hung up; any other line nobody
asked for is a protocol error.

Any transport failure (end of stream, garbage, an over-long line, a command timeout) poisons the
connection: the call cannot continue, the command in flight and every later one raise, and the
socket is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any, Protocol, cast

from ivr.channels.agi.commands import encode_command, long_command_kind
from ivr.channels.agi.environment import MAX_ENV_LINES, AgiEnvironment, parse_environment_block
from ivr.channels.agi.errors import (
    AgiConnectionClosed,
    AgiDeadChannel,
    AgiError,
    AgiLineTooLong,
    AgiProtocolError,
    AgiTimeout,
)
from ivr.channels.agi.protocol import USAGE_END_PREFIX, LineKind, classify, decode_line, is_reply_start
from ivr.channels.agi.replies import AgiResponse, cached_reply, parse_reply, parse_usage_reply
from ivr.channels.agi.stats import AgiErrorKind, AgiStats

log = logging.getLogger("ivr.agi")

MAX_USAGE_LINES = 200
# A 520 usage text comes in one write; a peer that never sends its end line ("520 End of proper
# usage.") must not hold the call for the whole command timeout: what came within this is the reply.
USAGE_GRACE = 0.5
# Asterisk's block is about 700 bytes plus the arguments; a larger one is abuse, not a call.
MAX_ENV_BYTES = 256 * 1024
CLOSE_TIMEOUT = 2.0
_ENV_END = b"\n\n"


class ConnectionListener(Protocol):
    """What the server hears from its connections (all called from the event loop's callbacks)."""

    def connection_opened(self, connection: AgiConnection) -> None: ...

    def environment_ready(self, connection: AgiConnection, env: AgiEnvironment) -> None: ...

    def environment_failed(self, connection: AgiConnection, error: AgiError) -> None: ...

    def connection_ended(self, connection: AgiConnection) -> None: ...


READ_BUFFER_BYTES = 64 * 1024


class AgiConnection(asyncio.Protocol):
    """The socket of one call: reads the environment block, then runs commands one at a time."""

    def __init__(
        self,
        *,
        command_timeout: float,
        max_line_bytes: int = 8192,
        header_timeout: float = 5.0,
        stats: AgiStats | None = None,
        listener: ConnectionListener | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        usage_grace: float = USAGE_GRACE,
    ) -> None:
        self._command_timeout = command_timeout
        self._max_line = max_line_bytes
        self._header_timeout = header_timeout
        self._stats = stats or AgiStats()
        self._listener = listener
        self._loop = loop or asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = b""  # a partial line
        self._env_buffer = bytearray()  # the environment block so far
        self._env_lines = 0
        self._env_done = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._busy = False  # a command is in flight (or being handed the turn)
        self._turns: deque[asyncio.Future[None]] = deque()  # commands waiting for theirs
        self._waiter: asyncio.Future[AgiResponse] | None = None
        self._usage: list[str] | None = None  # body lines of a multi-line 520 being read
        self._usage_first = ""
        self._usage_timer: asyncio.TimerHandle | None = None
        self._usage_grace = usage_grace
        self._hung_up = False
        self._hangup_event: asyncio.Event | None = None
        self._failure: AgiError | None = None
        self._closed = False  # we closed it
        self._lost = False  # the transport is gone
        self._close_timer: asyncio.TimerHandle | None = None
        self._in_flight: tuple[str, float, float] | None = None  # command, limit, deadline
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ state

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    @property
    def stats(self) -> AgiStats:
        return self._stats

    @property
    def failure(self) -> AgiError | None:
        """Why the connection is unusable (None while it works)."""
        return self._failure

    @property
    def has_environment(self) -> bool:
        return self._env_done and self._failure is None

    @property
    def peer(self) -> object:
        return self._transport.get_extra_info("peername") if self._transport is not None else None

    def mark_hung_up(self) -> None:
        self._hung_up = True
        if self._hangup_event is not None:
            self._hangup_event.set()

    async def wait_hangup(self) -> None:
        """Return once Asterisk says the caller is gone (or the connection broke)."""
        if self._hung_up:
            return
        if self._hangup_event is None:
            self._hangup_event = asyncio.Event()
        await self._hangup_event.wait()

    def _fail(self, error: AgiError) -> None:
        """Poison the connection; the first failure (e.g. the timeout that closed it) wins."""
        if self._failure is None:
            self._failure = error
        # The call cannot go on: for the engine this is the end of the call.
        self.mark_hung_up()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._failure)
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is one without subclassing asyncio.Transport).
        self._transport = cast(asyncio.Transport, transport)
        self._header_timer = self._loop.call_later(self._header_timeout, self._header_expired)
        if self._listener is not None:
            self._listener.connection_opened(self)

    def data_received(self, data: bytes) -> None:
        if self._failure is not None:
            return  # the connection is being closed: nothing more is read
        if not self._env_done:
            self._feed_environment(data)
            return
        if self._buffer:  # at most one partial line (bounded by max_line_bytes)
            data = self._buffer + data
            self._buffer = b""
        self._feed_lines(data)

    def eof_received(self) -> bool | None:
        return None  # let the transport close: connection_lost says what it meant

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._cancel_timers()
        if not self._env_done:
            if self._env_buffer.strip():
                self._environment_failed(AgiProtocolError("stream ended inside the AGI environment"))
            else:
                self._environment_failed(AgiConnectionClosed("connection closed before any AGI environment"))
        elif self._buffer:
            self._fail(AgiProtocolError(f"stream ended inside a line ({len(self._buffer)} bytes)"))
        elif self._usage is not None:
            self._fail(AgiProtocolError("stream ended inside a 520 usage reply"))
        elif exc is not None:
            self._fail(AgiConnectionClosed(f"AGI connection lost: {exc}"))
        elif self._closed and self._waiter is None:
            self.mark_hung_up()  # we closed it at the end of the call: nothing failed
        else:
            self._fail(AgiConnectionClosed("Asterisk closed the AGI connection"))
        if self._listener is not None:
            self._listener.connection_ended(self)

    # ------------------------------------------------------------------ the environment block

    def _feed_environment(self, data: bytes) -> None:
        # A growing bytearray, searched only where the end can newly be: a peer dribbling the
        # block a byte at a time costs each read its own bytes, not a copy of the whole block.
        block = self._env_buffer
        start = max(0, len(block) - 1)
        block += data
        end = block.find(_ENV_END, start)
        if end < 0:
            self._env_lines += data.count(b"\n")
            if len(block) - block.rfind(b"\n") - 1 > self._max_line:
                self._environment_failed(AgiLineTooLong("line longer than the configured maximum"))
            elif self._env_lines > MAX_ENV_LINES or len(block) > MAX_ENV_BYTES:
                self._environment_failed(AgiProtocolError("AGI environment too long"))
            return
        rest = bytes(block[end + len(_ENV_END) :])
        try:
            env = parse_environment_block(bytes(block[:end]), self._max_line)
        except AgiError as exc:
            self._environment_failed(exc)
            return
        self._env_done = True
        self._env_buffer = bytearray()
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._listener is not None:
            self._listener.environment_ready(self, env)
        if rest:
            self._feed_lines(rest)  # e.g. a HANGUP right behind the block

    def _header_expired(self) -> None:
        self._header_timer = None
        if not self._env_done:
            self._environment_failed(AgiTimeout(f"no complete AGI environment within {self._header_timeout:.1f} s"))

    def _environment_failed(self, error: AgiError) -> None:
        if self._env_done:
            return
        self._env_done = True
        self._env_buffer = bytearray()
        self._fail(error)
        if self._listener is not None:
            self._listener.environment_failed(self, error)

    # ------------------------------------------------------------------ replies

    def _feed_lines(self, data: bytes) -> None:
        start = 0
        find = data.find
        while (end := find(b"\n", start)) >= 0:
            if end - start > self._max_line:
                self._fail(AgiLineTooLong("line longer than the configured maximum"))
                return
            self._on_line(data[start:end])
            if self._failure is not None:
                return
            start = end + 1
        if len(data) - start > self._max_line:
            self._fail(AgiLineTooLong("line longer than the configured maximum"))
        elif start < len(data):
            self._buffer = data[start:]

    def _on_line(self, raw: bytes) -> None:
        waiter = self._waiter
        if waiter is not None and self._usage is None and (response := cached_reply(raw)) is not None:
            self._waiter = None  # the hot path: "200 result=0", "200 result=49" ...
            waiter.set_result(response)
            return
        line = decode_line(raw)
        if self._usage is not None and not self._usage_line(line):
            return
        # (After a usage text that ended without its end line, this line is the next one: a
        # HANGUP, or a reply nobody asked for.)
        kind = classify(line)
        if kind is LineKind.HANGUP:
            self.mark_hung_up()
        elif waiter is None:
            self._fail(AgiProtocolError(f"unsolicited line from Asterisk: {line[:80]!r}"))
        elif kind is LineKind.USAGE_START:
            self._usage, self._usage_first = [], line
            self._usage_timer = self._loop.call_later(self._usage_grace, self._usage_expired)
        else:
            try:
                response = parse_reply(line)
            except AgiError as exc:
                self._fail(exc)
                return
            self._waiter = None
            waiter.set_result(response)

    def _usage_line(self, line: str) -> bool:
        """One line inside a 520 usage text. True when the text ended without its end line and
        ``line`` is not part of it (the caller then reads ``line`` as a line of its own)."""
        assert self._usage is not None
        if line.startswith(USAGE_END_PREFIX):
            self._finish_usage(parse_usage_reply(self._usage_first, self._usage, line))
            return False
        if is_reply_start(line):
            self._finish_usage(self._truncated_usage())
            return True
        self._usage.append(line)
        if len(self._usage) > MAX_USAGE_LINES:
            self._fail(AgiProtocolError("520 usage reply too long"))
        return False

    def _truncated_usage(self) -> AgiResponse:
        assert self._usage is not None
        log.warning("AGI 520 usage reply without its end line (%d lines): taken as complete", len(self._usage))
        self._stats.error(AgiErrorKind.PROTOCOL)
        return parse_usage_reply(self._usage_first, self._usage, USAGE_END_PREFIX)

    def _usage_expired(self) -> None:
        self._usage_timer = None
        if self._usage is not None and self._failure is None:
            self._finish_usage(self._truncated_usage())

    def _finish_usage(self, response: AgiResponse) -> None:
        self._usage = None
        if self._usage_timer is not None:
            self._usage_timer.cancel()
            self._usage_timer = None
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # ------------------------------------------------------------------ commands

    async def command(self, text: str, *, timeout: float | None = None) -> AgiResponse:
        """Send one command and return its reply as is (any code). Raises on transport failure.

        Commands run one at a time in the order they were asked for (a second caller waits its
        turn); the usual case, nobody else in flight, takes no lock at all."""
        data = encode_command(text)
        limit = self._command_timeout if timeout is None else timeout
        if self._busy:
            await self._take_turn()
        else:
            self._busy = True
        try:
            if self._failure is not None:
                raise self._failure
            transport = self._transport
            if self._closed or transport is None:
                raise AgiConnectionClosed("the AGI connection is closed")
            waiter: asyncio.Future[AgiResponse] = self._loop.create_future()
            self._waiter = waiter
            self._arm(text, limit)
            started = time.perf_counter()
            transport.write(data)
            try:
                response = await waiter
            except asyncio.CancelledError:
                # The reply will still come and would answer the next command: give up the call.
                self._fail(AgiProtocolError(f"command {text[:40]!r} abandoned"))
                raise
            finally:
                self._in_flight = None
            self._stats.observe_command(time.perf_counter() - started, long_command_kind(text))
        finally:
            self._pass_turn()
        if response.code == 511 or (text == "HANGUP" and response.code == 200 and response.result == "1"):
            self.mark_hung_up()  # 511: it is gone; "HANGUP" (no argument): we hung it up
        return response

    async def _take_turn(self) -> None:
        """Wait until the command in flight (and those asked for before) are done."""
        turn: asyncio.Future[None] = self._loop.create_future()
        self._turns.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # handed the turn just as we were cancelled: hand it on
            elif turn in self._turns:
                self._turns.remove(turn)
            raise

    def _pass_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)  # stays busy: the turn goes straight to the next command
                return
        self._busy = False

    # The per-command timeout. Most replies come in milliseconds, so instead of one timer per
    # command (a heap push and a cancel each time) one timer per connection is re-armed lazily:
    # a command only records its deadline; when the timer fires it either finds that deadline
    # passed (the command fails with AgiTimeout and the socket is closed) or moves on.

    def _arm(self, text: str, limit: float) -> None:
        deadline = self._loop.time() + limit
        self._in_flight = (text, limit, deadline)
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        in_flight = self._in_flight
        if in_flight is None or self._failure is not None:
            return
        text, limit, deadline = in_flight
        if self._loop.time() >= deadline:
            verb = " ".join(text.split(" ", 2)[:2])
            self._fail(AgiTimeout(f"no reply to {verb} within {limit:.1f} s"))
        else:
            self._timer = self._loop.call_at(deadline, self._check_deadline)

    # ------------------------------------------------------------------ closing

    def _cancel_timers(self) -> None:
        # A live timer would keep this connection in memory until it fires.
        for timer in (self._timer, self._header_timer, self._close_timer, self._usage_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._header_timer = self._close_timer = self._usage_timer = None

    def abort(self) -> None:
        """Drop the socket now (shutdown of a connection that never became a call)."""
        self._cancel_timers()
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        """Close our side (Asterisk keeps the channel until we do). Idempotent.

        The transport sends what is still buffered, then closes; a peer that stopped reading (so
        something is still buffered) gets the socket aborted after ``CLOSE_TIMEOUT`` instead of
        holding it open forever."""
        self.close_now()

    def close_now(self) -> None:
        """:meth:`close` from a loop callback (it never waits)."""
        if self._closed:
            return
        self._closed = True
        self._cancel_timers()
        transport = self._transport
        if transport is None or self._lost:
            return
        flushing = transport.get_write_buffer_size() > 0
        transport.close()
        if flushing and not self._lost:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, transport.abort)


class BufferedAgiConnection(AgiConnection, asyncio.BufferedProtocol):
    """The same connection reading into a buffer we own: for the standard loop, which hands a
    plain protocol a fresh bytes object per read, allocated at 256 KiB and shrunk (three system
    calls, mmap/mremap/munmap, for every 14-byte reply). uvloop reads into its own buffer, so there
    the plain :class:`AgiConnection` costs less (no extra Python call per read).

    The server hands every connection the same buffer: a transport asks for it, reads into it and
    reports the bytes in one go, and ``buffer_updated`` copies them out before returning, so no two
    reads ever overlap in it.
    """

    def __init__(self, *, read_buffer: memoryview | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._read_view = read_buffer if read_buffer is not None else memoryview(bytearray(READ_BUFFER_BYTES))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._read_view[:nbytes].tobytes())


def connection_class(loop: asyncio.AbstractEventLoop) -> type[AgiConnection]:
    """The cheaper reading path on this loop (see :class:`BufferedAgiConnection`)."""
    return BufferedAgiConnection if isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop) else AgiConnection


__all__ = ["AgiConnection", "AgiDeadChannel", "BufferedAgiConnection", "ConnectionListener", "connection_class"]
