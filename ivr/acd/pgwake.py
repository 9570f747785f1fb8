"""A node's connections to the shared line besides its changes: the lease (renew this node's
entries and offers, reap dead nodes') and the LISTEN connection that wakes it (see pgline.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime

import asyncpg

from ivr.acd.line import LineResult, Offer
from ivr.acd.pgline import PgLine, Reaped, asyncpg_dsn
from ivr.acd.pgnotify import CHANNEL, parse_offer

log = logging.getLogger(__name__)


class LineLease:
    """A node's component: renews its leases every ``lease/3`` and reaps dead nodes' rows, so a
    SIGKILLed node's agents are free again within one lease (plus one period)."""

    name = "acd-line-lease"

    def __init__(self, line: PgLine, clock: Callable[[], datetime], *,
                 on_result: Callable[[LineResult], None] = lambda _r: None) -> None:
        self.line = line
        self.clock = clock
        self.on_result = on_result

    async def once(self) -> Reaped:
        await self.line.renew()
        reaped = await self.line.reap(at=self.clock())
        self.on_result(reaped.result)
        return reaped

    async def run(self, started: asyncio.Event) -> None:
        await self.once()
        started.set()
        while True:
            await asyncio.sleep(self.line.lease_seconds / 3)
            try:
                await self.once()
            except (OSError, asyncpg.PostgresError):  # the database is away: the next period retries
                log.exception("shared line: lease renewal failed")


OfferHandler = Callable[[Offer], None]
AgentsHandler = Callable[["list[str] | None"], None]


class LineListener:
    """One LISTEN connection per node: hands each offer to ``on_offer`` (every node gets every
    offer; the handler keeps its own node's), each batch of agent changes to ``on_agents`` and
    each change of the line's entries (joins, leaves) to ``on_line``."""

    name = "acd-line-listener"

    def __init__(self, url: str, *, on_offer: OfferHandler, on_agents: AgentsHandler,
                 on_line: Callable[[], None] = lambda: None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.on_offer = on_offer
        self.on_agents = on_agents
        self.on_line = on_line
        self._conn: asyncpg.Connection | None = None

    def _received(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            if "agents" in data:
                self.on_agents(data["agents"])
            elif "line" in data:
                self.on_line()
            else:
                self.on_offer(parse_offer(data))
        except (ValueError, KeyError, TypeError):
            log.warning("shared line: unreadable notification", extra={"payload_chars": len(payload)})

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(CHANNEL, self._received)

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _listen_once(self, started: asyncio.Event) -> None:
        await self.start()
        started.set()
        lost = asyncio.Event()
        if self._conn is not None:
            self._conn.add_termination_listener(lambda _c: lost.set())
        await lost.wait()

    async def run(self, started: asyncio.Event) -> None:
        """Listen, and listen again after the connection drops (waiters poll meanwhile)."""
        while True:
            try:
                await self._listen_once(started)
            except (OSError, asyncpg.PostgresError):
                log.warning("shared line: LISTEN connection lost; reconnecting")
            finally:
                await self.aclose()
            await asyncio.sleep(1.0)

