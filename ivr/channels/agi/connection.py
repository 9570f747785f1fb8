"""One FastAGI connection: the environment block, then commands and their replies.

Asterisk pushes an unsolicited ``HANGUP`` line at any moment: between a command and its reply
(``200 result=-1``, then ``HANGUP``, then the reply to the next command) or while no command is in
flight. The command in flight reads its own reply in its own task (no hand-off between tasks on
the hot path) and takes any ``HANGUP`` lines before it; while nothing is in flight and someone
waits for the hangup (:meth:`AgiConnection.wait_hangup`), a watcher task reads instead, and steps
aside (cancelled between lines, so nothing is lost) when the next command starts.

Any transport failure (end of stream, garbage, an over-long line, a command timeout) poisons the
connection: the call cannot continue, every later command raises, and the socket is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ivr.channels.agi.errors import (
    AgiConnectionClosed,
    AgiDeadChannel,
    AgiError,
    AgiLineTooLong,
    AgiProtocolError,
    AgiTimeout,
)
from ivr.channels.agi.protocol import (
    MAX_ENV_LINES,
    USAGE_END_PREFIX,
    AgiEnvironment,
    AgiResponse,
    LineKind,
    classify,
    decode_line,
    encode_command,
    parse_environment,
    parse_reply,
    parse_usage_reply,
)
from ivr.channels.agi.stats import AgiStats

log = logging.getLogger("ivr.agi")

MAX_USAGE_LINES = 200
CLOSE_TIMEOUT = 2.0


async def read_line(reader: asyncio.StreamReader) -> str | None:
    """One ``\\n``-terminated line; None at a clean end of stream. The reader's ``limit`` bounds it."""
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise AgiProtocolError(f"stream ended inside a line ({len(exc.partial)} bytes)") from None
        return None
    except asyncio.LimitOverrunError:
        raise AgiLineTooLong("line longer than the configured maximum") from None
    return decode_line(raw)


async def read_environment(reader: asyncio.StreamReader, *, deadline: float) -> AgiEnvironment:
    """Read the ``agi_*`` block up to its empty line, all of it within ``deadline`` seconds."""
    try:
        async with asyncio.timeout(deadline):
            try:
                # The whole block at once (it is ~600 bytes); a block over the line limit is
                # read line by line instead, so only a single over-long line is refused.
                block = await reader.readuntil(b"\n\n")
            except asyncio.LimitOverrunError:
                lines = await _read_environment_lines(reader)
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    raise AgiProtocolError("stream ended inside the AGI environment") from None
                raise AgiConnectionClosed("connection closed before any AGI environment") from None
            else:
                # One decode for the block (a line break never falls inside a UTF-8 sequence, so
                # this equals decoding line by line, at a tenth of the cost).
                lines = [line.rstrip("\r") for line in block[:-2].decode("utf-8", errors="replace").split("\n")]
    except TimeoutError:
        raise AgiTimeout(f"no complete AGI environment within {deadline:.1f} s") from None
    if not lines or lines == [""]:
        raise AgiProtocolError("empty AGI environment")
    return parse_environment(lines)


async def _read_environment_lines(reader: asyncio.StreamReader) -> list[str]:
    lines: list[str] = []
    while True:
        line = await read_line(reader)
        if line is None:
            raise AgiProtocolError("stream ended inside the AGI environment")
        if line == "":
            return lines
        lines.append(line)
        if len(lines) > MAX_ENV_LINES:
            raise AgiProtocolError("AGI environment too long")


class AgiConnection:
    """The socket of one call after its environment block."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float,
        stats: AgiStats | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._command_timeout = command_timeout
        self._stats = stats or AgiStats()
        self._lock = asyncio.Lock()
        self._hangup = asyncio.Event()
        self._failure: AgiError | None = None
        self._closed = False
        self._watcher: asyncio.Task[None] | None = None
        self._waiters = 0
        self._in_flight: tuple[str, float, float] | None = None  # command, limit, deadline
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ state

    @property
    def hung_up(self) -> bool:
        return self._hangup.is_set()

    @property
    def failure(self) -> AgiError | None:
        """Why the connection is unusable (None while it works)."""
        return self._failure

    def mark_hung_up(self) -> None:
        self._hangup.set()

    async def wait_hangup(self) -> None:
        """Return once Asterisk says the caller is gone (or the connection broke)."""
        if self._hangup.is_set():
            return
        self._waiters += 1
        try:
            if not self._lock.locked():
                self._start_watcher()
            await self._hangup.wait()
        finally:
            self._waiters -= 1
            if self._waiters == 0:
                await self._stop_watcher()

    def _failed(self, error: AgiError) -> AgiError:
        """Poison the connection; the first failure (e.g. the timeout that closed it) wins."""
        self._fail(error)
        return self._failure or error

    def _fail(self, error: AgiError) -> None:
        if self._failure is None:
            self._failure = error
        # The call cannot go on: for the engine this is the end of the call.
        self._hangup.set()
        self._writer.close()

    # ------------------------------------------------------------------ reading

    async def _read_reply(self) -> AgiResponse:
        """The reply to the command in flight; ``HANGUP`` lines before it set the hung-up state."""
        while True:
            line = await read_line(self._reader)
            if line is None:
                raise AgiConnectionClosed("Asterisk closed the AGI connection")
            kind = classify(line)
            if kind is LineKind.HANGUP:
                self._hangup.set()
                continue
            if kind is LineKind.USAGE_START:
                return await self._read_usage(line)
            return parse_reply(line)

    async def _read_usage(self, first: str) -> AgiResponse:
        body: list[str] = []
        while True:
            line = await read_line(self._reader)
            if line is None:
                raise AgiProtocolError("stream ended inside a 520 usage reply")
            if line.startswith(USAGE_END_PREFIX):
                return parse_usage_reply(first, body, line)
            body.append(line)
            if len(body) > MAX_USAGE_LINES:
                raise AgiProtocolError("520 usage reply too long")

    def _buffered(self) -> bool:
        # StreamReader has no public peek; its buffer is the only way to see lines that arrived
        # while nothing was reading (a HANGUP, or an unsolicited reply that would desync us).
        return bool(getattr(self._reader, "_buffer", b""))

    async def _take_buffered(self) -> None:
        """Consume what arrived while no command was in flight: only ``HANGUP`` is legitimate."""
        while self._buffered():
            line = await read_line(self._reader)
            if line is None:
                raise AgiConnectionClosed("Asterisk closed the AGI connection")
            if classify(line) is not LineKind.HANGUP:
                raise AgiProtocolError(f"unsolicited line from Asterisk: {line[:80]!r}")
            self._hangup.set()

    async def settle(self) -> None:
        """Take any lines already received (e.g. the ``HANGUP`` right after a ``result=-1``)."""
        if self._buffered() and not self._lock.locked() and self._failure is None and not self._closed:
            async with self._lock:
                try:
                    async with asyncio.timeout(self._command_timeout):
                        await self._take_buffered()
                except TimeoutError:
                    self._fail(AgiTimeout("a partial line from Asterisk never ended"))
                except AgiError as exc:
                    self._fail(exc)
                except OSError as exc:
                    self._fail(AgiConnectionClosed(f"AGI connection lost: {exc}"))

    def _start_watcher(self) -> None:
        if self._failure is None and not self._hangup.is_set() and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="agi-hangup-watch")

    async def _stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()  # it only ever waits inside readuntil: no line is lost
            await asyncio.wait({watcher})

    async def _watch(self) -> None:
        """Read while no command is in flight: only ``HANGUP`` (or the end) may come."""
        try:
            line = await read_line(self._reader)
            if line is None:
                self._fail(AgiConnectionClosed("Asterisk closed the AGI connection"))
            elif classify(line) is LineKind.HANGUP:
                self._hangup.set()
            else:
                self._fail(AgiProtocolError(f"unsolicited line from Asterisk: {line[:80]!r}"))
        except AgiError as exc:
            self._fail(exc)
        except OSError as exc:
            self._fail(AgiConnectionClosed(f"AGI connection lost: {exc}"))

    # ------------------------------------------------------------------ commands

    async def command(self, text: str, *, timeout: float | None = None) -> AgiResponse:
        """Send one command and return its reply as is (any code). Raises on transport failure."""
        data = encode_command(text)
        limit = self._command_timeout if timeout is None else timeout
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._watcher is not None:
                await self._stop_watcher()
            started = time.perf_counter()
            self._arm(text, limit)
            try:
                if self._buffered():
                    await self._take_buffered()
                self._writer.write(data)
                response = await self._read_reply()
            except AgiError as exc:
                raise self._failed(exc) from None
            except OSError as exc:
                raise self._failed(AgiConnectionClosed(f"AGI connection lost: {exc}")) from None
            except asyncio.CancelledError:
                # The reply will still come and would answer the next command: give up the call.
                self._fail(AgiProtocolError(f"command {text[:40]!r} abandoned"))
                raise
            finally:
                self._in_flight = None
            self._stats.observe_command(time.perf_counter() - started)
            if response.code == 511 or (text == "HANGUP" and response.code == 200 and response.result == "1"):
                self._hangup.set()  # 511: it is gone; "HANGUP" (no argument): we hung it up
            if self._waiters:
                self._start_watcher()
        return response

    # The per-command timeout. Most replies come in milliseconds, so instead of one timer per
    # command (a heap push and a cancel each time) one timer per connection is re-armed lazily:
    # a command only records its deadline; when the timer fires it either finds that deadline
    # passed (the transport is closed, which ends the pending read with AgiTimeout) or moves on.

    def _arm(self, text: str, limit: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        self._in_flight = (text, limit, deadline)
        if self._timer is None or self._timer.when() > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        in_flight = self._in_flight
        if in_flight is None or self._failure is not None:
            return
        text, limit, deadline = in_flight
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline:
            verb = " ".join(text.split(" ", 2)[:2])
            self._fail(AgiTimeout(f"no reply to {verb} within {limit:.1f} s"))
        else:
            self._timer = loop.call_at(deadline, self._check_deadline)

    # ------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Close our side (Asterisk keeps the channel until we do). Idempotent, bounded."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()  # else it would keep this connection in memory until it fires
            self._timer = None
        await self._stop_watcher()
        self._writer.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()
        except (TimeoutError, OSError) as exc:
            log.debug("AGI socket close: %s", exc)


__all__ = ["AgiConnection", "AgiDeadChannel", "read_environment", "read_line"]
