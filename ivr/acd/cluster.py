"""The ACD service on the shared line (``IVR_ACD__SHARED=true``, PostgreSQL).

The service's API stays synchronous (the hold loop, callbacks and the admin API call it as on one
node). In shared mode its router is a *mirror* of the shared line: every change is applied to the
mirror at once (so this node's own reads - is my entry still in line, my position, the EWT - see
it) and submitted, in order, to the shared line, which alone decides offers. The link's one writer
task runs the submitted changes one by one; their results (new offers, agent changes) and the
offers other nodes make for this node's callers (LISTEN/NOTIFY) reach the service; after each
batch, and when another node changed agents, the mirror is refreshed from the shared line
(every node's callers: positions and EWT count everyone ahead). The lease component renews this
node's entries and offers and reaps dead nodes'.

The service and the link need each other, so neither is handed the other after the fact: the
:class:`LineOutbox` (the service's :class:`~ivr.acd.linelink.LineLink`: its submitted changes, in
order) is built first and given to both; the service next; the :class:`ClusterLink` last, given
the service and the outbox it drains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ivr.acd.line import LineAgent, LineResult, LineSnapshot
from ivr.acd.linelink import LineChange
from ivr.acd.pgline import Offer, PgLine
from ivr.acd.pgwake import LineLease, LineListener
from ivr.acd.service import AcdService
from ivr.acd.sharedrates import SharedRates
from ivr.acd.types import InvalidTransition, UnknownAgent, UnknownQueue
from ivr.ports import HeldPlace

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Submitted:
    what: str
    change: LineChange
    at: datetime


class LineOutbox:
    """This node's changes to the shared line, queued in order for the :class:`ClusterLink`'s one
    writer (``None``: read the line again), and the place look-ups on the line the link opened."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.submitted = 0  # how many changes were ever submitted (a refresh started before one is stale)
        self._queue: asyncio.Queue[_Submitted | None] = asyncio.Queue()
        self._line: PgLine | None = None  # while the link runs

    # ------------------------------------------------------------------ from the service (LineLink)
    async def held_place(self, call_id: str) -> HeldPlace | None:
        """The shared line's place for a caller sent on from a dead node (None before it is connected)."""
        return await self._line.held_place(call_id) if self._line is not None else None

    def submit(self, what: str, change: LineChange, at: datetime) -> None:
        self.submitted += 1
        self._queue.put_nowait(_Submitted(what, change, at))

    # ------------------------------------------------------------------ for the link
    def refresh_soon(self) -> None:
        self._queue.put_nowait(None)

    @contextmanager
    def connected(self, line: PgLine) -> Iterator[None]:
        """The line the link opened answers the look-ups while the link runs."""
        self._line = line
        try:
            yield
        finally:
            self._line = None

    async def next(self) -> _Submitted | None:
        return await self._queue.get()

    def next_nowait(self) -> _Submitted | None:
        return self._queue.get_nowait()

    def empty(self) -> bool:
        return self._queue.empty()


class ClusterLink:
    """Connects one node's :class:`AcdService` to the shared line (a component of ``ivr serve``)."""

    name = "acd-cluster"

    def __init__(self, service: AcdService, outbox: LineOutbox, url: str, *, lease_seconds: float,
                 orphan_grace_seconds: float = 600.0, rates_refresh_seconds: float = 1.0) -> None:
        self.service = service
        self.outbox = outbox
        self.url = url
        self.owner = outbox.owner
        self.lease_seconds = lease_seconds
        self.orphan_grace_seconds = orphan_grace_seconds
        self.rates_refresh_seconds = rates_refresh_seconds
        self.line: PgLine | None = None

    # ------------------------------------------------------------------ the component
    async def run(self, started: asyncio.Event) -> None:
        self.line = await PgLine.connect(self.url, owner=self.owner, lease_seconds=self.lease_seconds,
                                         orphan_grace_seconds=self.orphan_grace_seconds)
        try:
            with self.outbox.connected(self.line):
                await self._run(self.line, started)
        finally:
            await self.line.aclose()

    async def _run(self, line: PgLine, started: asyncio.Event) -> None:
        svc = self.service
        await line.configure({q: svc.queue_config(q).skills for q in svc.queue_names()},
                             [LineAgent(a.agent_id, a.endpoint, a.skills) for a in svc.agents()], at=svc.clock())
        lease = LineLease(line, svc.clock, on_result=self._result)
        listener = LineListener(self.url, on_offer=self._offer, on_agents=self._agents_changed,
                                on_line=self.outbox.refresh_soon)
        await self._refresh()
        parts = [listener.run, lease.run]
        if svc.store is not None:  # every node's EWT from every node's contacts
            parts.append(SharedRates(svc.store, svc.rates, svc.shared_priors, interval=self.rates_refresh_seconds).run)
        async with asyncio.TaskGroup() as tg:
            for part in parts:
                ready = asyncio.Event()
                tg.create_task(part(ready))
                await ready.wait()
            self.outbox.refresh_soon()
            started.set()
            await self._write()

    def _agents_changed(self, _agent_ids: Sequence[str] | None) -> None:
        self.outbox.refresh_soon()

    async def _write(self) -> None:
        while True:
            await self._apply(await self.outbox.next())
            while not self.outbox.empty():  # and what came meanwhile, in one batch
                await self._apply(self.outbox.next_nowait())
            await self._refresh()

    async def _apply(self, item: _Submitted | None) -> None:
        if item is None or self.line is None:
            return
        try:
            self._result(await item.change(self.line, item.at))
        except (InvalidTransition, UnknownAgent, UnknownQueue, KeyError, ValueError) as exc:
            # Another node changed it first (e.g. the entry was reaped): the line stays as it is.
            log.warning("shared line refused a change", extra={"change": item.what, "error": str(exc)})
        except (OSError, asyncpg.PostgresError):
            log.exception("shared line change failed", extra={"change": item.what})

    def _result(self, result: LineResult) -> None:
        for offer in result.offers:
            self._offer(offer)
        self.service.shared_changes(list(result.changes))

    def _offer(self, offer: Offer) -> None:
        if offer.owner == self.owner:
            self.service.offer_arrived(offer.assignment)

    async def _refresh(self) -> None:
        if self.line is None:
            return
        before = self.outbox.submitted
        try:
            snapshot: LineSnapshot = await self.line.snapshot()
        except (OSError, asyncpg.PostgresError):
            log.exception("shared line: cannot read the line")
            return
        if self.outbox.submitted == before and self.outbox.empty():  # nothing changed here meanwhile
            self.service.mirror(snapshot)
