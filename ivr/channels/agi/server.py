"""Puente's FastAGI server (asyncio; not panoramisk's, which spins on EOF and swallows everything).

Each socket is an :class:`AgiConnection` protocol that reads the ``agi_*`` block under a
deadline; a complete block starts the call's task (tracked, so shutdown can wait for live calls),
which runs either a registered AGI script (``agi://.../callback``) or the flow engine
(``agi://.../support`` -> ``CallInfo.flow_hint``), and ALWAYS closes the socket at the end:
Asterisk keeps the channel alive until we do.

When a call ends with the caller still on the line, the server sets ``PUENTE_RESULT`` (``done`` or
``failed``) so the shipped dialplan knows whether to fall back to ``Queue()``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivr.channel import CallerHungUp
from ivr.channels.agi.answer_hook import ANSWER_HOOK_SCRIPT, AnswerHooks
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.commands import set_variable as set_variable_command
from ivr.channels.agi.connection import READ_BUFFER_BYTES, AgiConnection, BufferedAgiConnection, connection_class
from ivr.channels.agi.environment import AgiEnvironment
from ivr.channels.agi.errors import (
    AgiConnectionClosed,
    AgiError,
    AgiLineTooLong,
    AgiProtocolError,
    AgiTimeout,
)
from ivr.channels.agi.stats import AgiErrorKind, AgiStats
from ivr.errors import listen_error
from ivr.events import EventBus
from ivr.events.types import ProtocolError
from ivr.logs import current_call_id, mask_number
from ivr.ports import FlowRunner
from ivr.settings import AgiSettings

if TYPE_CHECKING:
    from ivr.ami.client import AmiClient
    from ivr.channels.agi.speech import AgiSpeech

log = logging.getLogger("ivr.agi")

RESULT_VARIABLE = "PUENTE_RESULT"
RESULT_DONE = "done"
RESULT_FAILED = "failed"


ScriptHandler = Callable[[AgiChannel], Awaitable[None]]


def _error_kind(error: AgiError) -> AgiErrorKind:
    if isinstance(error, AgiLineTooLong):
        return AgiErrorKind.LINE_TOO_LONG
    if isinstance(error, AgiTimeout):
        return AgiErrorKind.TIMEOUT
    return AgiErrorKind.PROTOCOL


class AgiServer:
    """Listens on ``settings.host:port`` (port 0 picks a free one; see :attr:`port`)."""

    name = "agi"

    def __init__(
        self,
        settings: AgiSettings,
        *,
        engine: FlowRunner | None,
        scripts: Mapping[str, ScriptHandler] | None = None,
        bus: EventBus | None = None,
        stats: AgiStats | None = None,
        speech: AgiSpeech | None = None,
        hooks: AnswerHooks | None = None,
        ami: AmiClient | None = None,
    ) -> None:
        self._settings = settings
        self._ami = ami
        self._speech = speech
        self._engine = engine
        self._scripts: Mapping[str, ScriptHandler] = scripts or {}
        self._bus = bus
        self.stats = stats or AgiStats()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: set[AgiConnection] = set()  # every socket, with or without a call
        self._calls: set[asyncio.Task[None]] = set()
        self.hooks = hooks or AnswerHooks()

    @property
    def listening(self) -> bool:
        return self._server is not None and bool(self._server.sockets)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the AGI server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def live_connections(self) -> int:
        return len(self._open)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        kind = connection_class(loop)
        # One read buffer for every connection of a buffered kind (see BufferedAgiConnection).
        shared: dict[str, Any] = (
            {"read_buffer": memoryview(bytearray(READ_BUFFER_BYTES))} if kind is BufferedAgiConnection else {}
        )
        new_connection = functools.partial(
            kind,
            command_timeout=self._settings.command_timeout,
            max_line_bytes=self._settings.max_line_bytes,
            header_timeout=self._settings.header_timeout,
            stats=self.stats,
            listener=self,
            loop=loop,
            **shared,
        )
        try:
            self._server = await loop.create_server(
                new_connection, self._settings.host, self._settings.port, backlog=4096
            )
        except OSError as exc:
            raise listen_error("FastAGI", self._settings.host, self._settings.port, "IVR_AGI__PORT", exc) from exc
        log.info("FastAGI listening", extra={"host": self._settings.host, "port": self.port})

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting; let live calls finish for up to ``grace`` seconds; then end them."""
        grace = self._settings.shutdown_grace if grace is None else grace
        if self._server is not None:
            self._server.close()
        for connection in list(self._open):
            if not connection.has_environment:
                connection.abort()  # no call yet: nothing to let finish
        if self._calls:
            log.info("FastAGI draining", extra={"live": len(self._calls), "grace": grace})
            _, pending = await asyncio.wait(set(self._calls), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("FastAGI ended %d calls at shutdown", len(pending))
                await asyncio.wait(pending)
        for connection in list(self._open):
            connection.abort()  # a call cancelled before it ran never closed its socket
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def run(self, started: asyncio.Event) -> None:
        """Component entry point: serve until cancelled, then shut down gracefully."""
        await self.start()
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await self.shutdown()

    # ------------------------------------------------------------------ connections

    def connection_opened(self, connection: AgiConnection) -> None:
        self._open.add(connection)
        self.stats.connections_total += 1
        self.stats.connections_active += 1

    def connection_ended(self, connection: AgiConnection) -> None:
        self._open.discard(connection)
        self.stats.connections_active -= 1

    def environment_ready(self, connection: AgiConnection, env: AgiEnvironment) -> None:
        """A complete ``agi_*`` block: the call starts in its own task, tracked for shutdown."""
        assert self._loop is not None  # connections exist only once start() has run
        if env.route.script == ANSWER_HOOK_SCRIPT:
            # The agent answered a Dial: note it and close at once (the bridge waits for us).
            self.hooks.fire(env.arguments[0] if env.arguments else "", self._loop.time(), env.channel or None)
            connection.close_now()
            return
        task = self._loop.create_task(self._serve(connection, env), name="agi-call")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def environment_failed(self, connection: AgiConnection, error: AgiError) -> None:
        self.stats.error(AgiErrorKind.NO_ENVIRONMENT)
        if isinstance(error, AgiConnectionClosed):
            return  # closed or reset before a complete block: nothing to say
        log.warning("rejected FastAGI connection from %s: %s", connection.peer, error)
        if self._bus is not None:
            self._bus.publish(ProtocolError(protocol="agi", detail=str(error)))

    async def _serve(self, connection: AgiConnection, env: AgiEnvironment) -> None:
        try:
            channel = AgiChannel(connection, env, self._settings, speech=self._speech, hooks=self.hooks,
                                 ami=self._ami)
            current_call_id.set(channel.info.call_id)
            await self._run_call(channel, env)
        except Exception:
            # A fault outside the flow's own handling (building the call, reporting its result)
            # ends this call only, failing open like a failed flow; the other calls go on.
            self.stats.error(AgiErrorKind.CALL_FAILED)
            log.exception("AGI call failed outside its flow; handing the caller back to the dialplan")
            await self._fail_open(connection)
        finally:
            await connection.close()

    async def _fail_open(self, connection: AgiConnection) -> None:
        if connection.hung_up or connection.failure is not None:
            return
        try:
            await connection.command(set_variable_command(RESULT_VARIABLE, RESULT_FAILED))
        except AgiError as exc:
            log.warning("could not set %s=%s: %s", RESULT_VARIABLE, RESULT_FAILED, exc)

    async def _run_call(self, channel: AgiChannel, env: AgiEnvironment) -> None:
        script = env.route.script
        if log.isEnabledFor(logging.INFO):  # the masking and the dict are per call: skip them when off
            log.info(
                "AGI call",
                extra={"script": script, "caller": mask_number(env.caller), "dialled": env.dialled,
                       "agi_channel": env.channel},
            )
        try:
            handler = self._scripts.get(script) if script else None
            if handler is not None:
                await handler(channel)
            else:
                engine = self._engine
                if engine is None:  # a server for AGI scripts only (tests, tools)
                    self.stats.error(AgiErrorKind.NO_ENGINE)
                    log.error("no flow engine to run the AGI call; the dialplan falls back")
                    await self._set_result(channel, RESULT_FAILED)
                    return
                await engine.run(channel)
        except CallerHungUp:
            self.stats.caller_hangups += 1
            self._record_transport_failure(channel)
            return
        except AgiError as exc:
            if not self._record_transport_failure(channel):
                self._record_failure(exc)
            await self._set_result(channel, RESULT_FAILED)
            return
        except Exception:
            # Fail open: the caller goes to the dialplan's Queue() fallback; we say so loudly.
            self.stats.error(AgiErrorKind.CALL_FAILED)
            log.exception("AGI call failed; handing the caller back to the dialplan")
            await self._set_result(channel, RESULT_FAILED)
            return
        self.stats.calls_completed += 1
        self._record_transport_failure(channel)  # the flow may have handled it as a hangup
        await self._set_result(channel, RESULT_DONE)

    def _record_transport_failure(self, channel: AgiChannel) -> bool:
        failure = channel.connection.failure
        if failure is None or isinstance(failure, AgiConnectionClosed):
            return False
        self._record_failure(failure)
        return True

    def _record_failure(self, error: AgiError) -> None:
        if isinstance(error, AgiProtocolError | AgiTimeout):
            self.stats.error(_error_kind(error))
            log.warning("AGI connection failed: %s", error)
            if self._bus is not None:
                self._bus.publish(ProtocolError(protocol="agi", detail=str(error)))
        else:
            self.stats.error(AgiErrorKind.CALL_FAILED)
            log.warning("AGI call ended on an error: %s", error)

    async def _set_result(self, channel: AgiChannel, value: str) -> None:
        """Tell the dialplan how we ended, when there is still a caller and a working socket."""
        connection = channel.connection
        if connection.hung_up or connection.failure is not None:
            return
        try:
            await channel.command(set_variable_command(RESULT_VARIABLE, value))
        except AgiError as exc:
            log.warning("could not set %s=%s: %s", RESULT_VARIABLE, value, exc)
