"""A supervised AMI connection on top of panoramisk's protocol and action bookkeeping.

panoramisk's own reconnection (``call_later`` timers), FullyBooted-triggered resend of queued actions
and coroutine callbacks (``ensure_future``) are switched off: this client owns every task in a
TaskGroup, reconnects with capped jittered exponential backoff, resynchronises device and channel
state after each login and again on ``FullyBooted`` (after ``core restart`` the login can come
before PJSIP has loaded: the first list is then empty) and on every module ``Reload``, lists device
states periodically (``resync_interval``), fails pending actions when the connection drops, and
treats ``Event: Shutdown`` (Asterisk restarting) as the end of the session.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from panoramisk import manager as pm
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from ivr.ami.errors import AmiLoginFailed, AmiNotConnected, AmiTimeout
from ivr.ami.events import (
    AmiAction,
    AmiConnected,
    AmiDisconnected,
    AmiEvent,
    AmiMessage,
    CoreShowChannel,
    DeviceStateChange,
    FullyBooted,
    Reload,
    Resynced,
    ResyncReason,
    event_name,
    parse_core_show_channel,
    parse_device_state,
    parse_event,
)
from ivr.settings import AmiSettings

log = logging.getLogger(__name__)


def backoff_delay(attempt: int, *, initial: float, cap: float, rng: random.Random) -> float:
    """Exponential in ``attempt``, capped, with "equal jitter" (half fixed, half random)."""
    ceiling = min(cap, initial * (2 ** min(attempt, 30)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class AmiSubscription:
    """A bounded mailbox of typed events; a slow reader loses events (counted), never blocks."""

    def __init__(self, client: AmiClient, names: frozenset[str], maxsize: int) -> None:
        self._client = client
        self.names = names
        self._queue: asyncio.Queue[AmiEvent] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0

    def offer(self, event: AmiEvent) -> None:
        if "*" not in self.names and event_name(event).lower() not in self.names:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> AmiEvent:
        return await self._queue.get()

    def get_nowait(self) -> AmiEvent | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._client.unsubscribe(self)

    def __enter__(self) -> AmiSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Manager(pm.Manager):
    """panoramisk's Manager without its own reconnect timers and default callbacks."""

    def __init__(self, on_lost: Callable[[str], None], on_message: Callable[[Any], None], **config: Any) -> None:
        super().__init__(**config)
        self.callbacks.clear()  # drops FullyBooted -> send_awaiting_actions (a fire-and-forget task)
        self.patterns.clear()
        self._on_lost = on_lost
        self.orphans: list[Any] = []  # actions still pending when the protocol closed
        self.register_event("*", lambda _manager, message: on_message(message))

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        # panoramisk passes the Shutdown message itself when Asterisk announces it is going down
        self._on_lost("shutdown" if isinstance(exc, Message) else f"connection lost: {exc!r}")

    def ping(self) -> None:  # our own ping task does this
        return None


class _Protocol(AMIProtocol):
    def __init__(self, manager: _Manager) -> None:
        self._manager = manager

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        m = self._manager
        self.factory, self.log, self.config = m, m.log, m.config
        self.encoding = m.encoding = "utf8"
        m.protocol, m.responses = self, self.responses

    def close(self) -> None:
        # panoramisk forgets pending Ping/Login actions on close (and queues the others for a resend
        # we do not do): keep them all so that their callers can be told at once
        self._manager.orphans.extend(self.responses.values())
        super().close()


class AmiClient:
    """``async with AmiClient(settings) as ami:`` or run as a server Component (name ``ami``)."""

    name = "ami"

    def __init__(
        self,
        settings: AmiSettings,
        *,
        initial_delay: float = 0.5,
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        ping_interval: float = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.initial_delay = initial_delay
        self.connect_timeout = connect_timeout
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self._rng = rng or random.Random()
        self._subs: list[AmiSubscription] = []
        self._manager: _Manager | None = None
        self._connected = asyncio.Event()
        self._lost: asyncio.Event | None = None
        self._tg: asyncio.TaskGroup | None = None
        self.sessions = 0  # successful logins so far
        self._resync_wanted: list[ResyncReason] = []  # why another resync is due (this session)
        self._resync_wake = asyncio.Event()

    # ------------------------------------------------------------------ public API
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    def subscribe(self, *names: str, maxsize: int = 1000) -> AmiSubscription:
        """Events by wire name (``DeviceStateChange``, ``OriginateResponse``...), the synthetic
        ``AmiConnected`` / ``AmiDisconnected`` / ``Resynced``, or ``*`` for everything."""
        sub = AmiSubscription(self, frozenset(n.lower() if n != "*" else n for n in names or ("*",)), maxsize)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: AmiSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    async def send_action(self, action: AmiAction, *, timeout: float | None = None) -> list[AmiMessage]:
        """Send an action; return its response and any list events (e.g. for ``Originate`` with
        ``Async: true``: the ``Response`` then the ``OriginateResponse`` with the same ActionID,
        which is also published to subscribers)."""
        manager = self._manager
        if manager is None or not self.connected:
            raise AmiNotConnected(f"cannot send {action.get('Action')}: not connected")
        future = manager.send_action(dict(action))
        try:
            async with asyncio.timeout(timeout or self.action_timeout):
                result = await future
        except TimeoutError:
            self._forget(manager, future)
            raise AmiTimeout(f"{action.get('Action')}: no answer in time") from None
        messages = result if isinstance(result, list) else [result]
        out = [AmiMessage.from_mapping(m) for m in messages]
        for message in out:
            if message.event and message.event.lower() == "originateresponse":
                self._publish(parse_event(message))
        return out

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> AmiClient:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._supervisor = self._tg.create_task(self._supervise(), name="ami-supervisor")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._tg is not None
        self._supervisor.cancel()
        tg, self._tg = self._tg, None
        # the body's own exception propagates unchanged; only our tasks' errors are raised here
        await tg.__aexit__(None, None, None)

    async def run(self, started: asyncio.Event) -> None:
        """As a Component: start at once (Asterisk may come later), run until cancelled."""
        async with self:
            started.set()
            await asyncio.Event().wait()

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            try:
                logged_in = await self._session()
            except (OSError, TimeoutError, AmiLoginFailed, AmiTimeout) as exc:
                logged_in = False
                log.warning("ami connection failed", extra={"error": repr(exc), "attempt": attempt})
            attempt = 0 if logged_in else attempt + 1
            delay = backoff_delay(attempt, initial=self.initial_delay, cap=self.settings.reconnect_max_delay,
                                  rng=self._rng)
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One connection: connect, log in, resync, ping until it is lost. True if logged in."""
        lost = asyncio.Event()
        reason: list[str] = []

        def on_lost(why: str) -> None:
            reason.append(why)
            lost.set()

        s = self.settings
        manager = _Manager(on_lost, self._on_message, host=s.host, port=s.port, username=s.username,
                           secret=s.secret, events="on")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            await loop.create_connection(lambda: _Protocol(manager), s.host, s.port)
        session = self.sessions + 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                response = await manager.send_action({"Action": "Login", "Username": s.username, "Secret": s.secret,
                                                      "Events": "on"})
            if not response.success:
                raise AmiLoginFailed(str(response.get("Message", "login refused")))
            self.sessions = session
            self._manager = manager
            self._connected.set()
            log.info("ami logged in", extra={"host": s.host, "port": s.port, "session": session})
            self._publish(AmiConnected(None, session=session))
            async with asyncio.TaskGroup() as tg:
                resync = tg.create_task(self._resyncs(session), name="ami-resync")
                ping = tg.create_task(self._ping(manager, lost), name="ami-ping")
                await lost.wait()
                resync.cancel()
                ping.cancel()
            return True
        finally:
            was_connected = self._manager is manager
            self._manager = None
            self._connected.clear()
            manager.close()
            self._fail(manager.orphans + list(manager.awaiting_actions) + self._pending(manager))
            manager.awaiting_actions.clear()
            if was_connected:
                why = reason[0] if reason else "closed"
                log.warning("ami session ended", extra={"session": session, "reason": why})
                self._publish(AmiDisconnected(None, session=session, reason=why))

    async def _resyncs(self, session: int) -> None:
        """Resync after login, then whenever FullyBooted / Reload ask for it, and periodically.
        Requests that come while a resync runs are folded into one more."""
        interval = self.settings.resync_interval
        self._resync_wanted.clear()
        reason = ResyncReason.LOGIN
        while True:
            self._resync_wake.clear()
            self._resync_wanted.clear()
            await self._resync(session, reason)
            try:
                async with asyncio.timeout(interval if interval > 0 else None):
                    await self._resync_wake.wait()
            except TimeoutError:
                reason = ResyncReason.PERIODIC
            else:
                reason = self._resync_wanted[0] if self._resync_wanted else ResyncReason.PERIODIC

    def _want_resync(self, reason: ResyncReason) -> None:
        self._resync_wanted.append(reason)
        self._resync_wake.set()

    async def _resync(self, session: int, reason: ResyncReason = ResyncReason.LOGIN) -> None:
        """Device states (and, but for the periodic one, live channels), published as one Resynced
        event (what could be listed: a failed list is logged and left empty)."""
        devices = await self._list({"Action": "DeviceStateList"})
        channels = [] if reason is ResyncReason.PERIODIC else await self._list({"Action": "CoreShowChannels"})
        states: tuple[DeviceStateChange, ...] = tuple(
            parse_device_state(m) for m in devices if (m.event or "").lower() == "devicestatechange")
        live: tuple[CoreShowChannel, ...] = tuple(
            parse_core_show_channel(m) for m in channels if (m.event or "").lower() == "coreshowchannel")
        level = logging.DEBUG if reason is ResyncReason.PERIODIC else logging.INFO
        log.log(level, "ami resynced", extra={"devices": len(states), "channels": len(live), "reason": reason.value})
        self._publish(Resynced(None, session=session, devices=states, channels=live, reason=reason))

    async def _list(self, action: AmiAction) -> list[AmiMessage]:
        try:
            return await self.send_action(action)
        except (AmiNotConnected, AmiTimeout) as exc:
            log.warning("ami resync list failed", extra={"action": action["Action"], "error": repr(exc)})
            return []

    async def _ping(self, manager: _Manager, lost: asyncio.Event) -> None:
        while not lost.is_set():
            await asyncio.sleep(self.ping_interval)
            try:
                await self.send_action({"Action": "Ping"}, timeout=max(self.ping_interval / 2, 1.0))
            except AmiTimeout:
                log.warning("ami ping unanswered: dropping the connection")
                manager.close()
                lost.set()
            except AmiNotConnected:
                return

    # ------------------------------------------------------------------ plumbing
    def _on_message(self, message: Any) -> None:
        event = parse_event(AmiMessage.from_mapping(message))
        if isinstance(event, FullyBooted):
            self._want_resync(ResyncReason.FULLY_BOOTED)
        elif isinstance(event, Reload):
            self._want_resync(ResyncReason.RELOAD)
        self._publish(event)

    def _publish(self, event: AmiEvent) -> None:
        for sub in list(self._subs):
            sub.offer(event)

    @staticmethod
    def _forget(manager: _Manager, future: asyncio.Future[Any]) -> None:
        protocol = manager.protocol
        if protocol is None:
            return
        for key, action in list(protocol.responses.items()):
            if action.future is future:
                protocol.responses.pop(key, None)

    @staticmethod
    def _pending(manager: _Manager) -> list[Any]:
        protocol = manager.protocol
        return list(protocol.responses.values()) if protocol is not None else []

    @staticmethod
    def _fail(actions: list[Any]) -> None:
        """Whoever awaits an action of a lost connection hears about it now, not at its timeout."""
        for action in actions:
            if not action.future.done():
                action.future.set_exception(AmiNotConnected("the AMI connection was lost"))
