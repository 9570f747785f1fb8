"""Node identity, heartbeat, and reconciliation of what dead processes left open.

Every ``ivr serve`` process is one *owner* ``"<node>:<incarnation>"`` (``settings.node.id``, else
the host name, plus a fresh id per start). It writes a ``nodes`` row at start and its ``last_seen``
every ``heartbeat_seconds``; each call it starts carries its owner (``calls.owner``).

An owner is dead when its row says it stopped, when its heartbeat is older than
``stale_after_seconds``, or when it has this node's name, ran on this host and its process is gone
(a restarted server is the new incarnation of the same node, and need not wait for the heartbeat to
go stale). A process of the same name that is still running (a second ``ivr serve`` started by
mistake, say) is alive: its calls are never touched, and a warning says to give each its own
``IVR_NODE__ID``. Reconciling a
dead owner closes its open calls with disposition ``lost_on_restart`` and ``ended_at`` = the last
sign of life: the later of its last heartbeat and the call's last recorded event. Only owners that
are dead are touched, so a node never closes a live node's calls; two nodes reconciling the same
dead owner at once are serialised by a conditional update of its ``reconciled_at``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.calls.models import CallEventRow, CallRow
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.events.types import CallsLostOnRestart
from ivr.nodes.models import NodeRow
from ivr.ports import CallEventKind, Disposition
from ivr.settings import ConfigurationError, NodeSettings

log = logging.getLogger(__name__)

KEEP_RECONCILED = timedelta(days=7)  # rows of dead owners, kept this long after their calls were closed


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    node: str
    owner: str

    @classmethod
    def new(cls, node_id: str) -> NodeIdentity:
        node = (node_id or socket.gethostname())[:64]
        return cls(node, f"{node}:{uuid.uuid4().hex[:12]}")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """One dead owner whose open calls this node closed."""

    owner: str
    died_at: datetime
    calls: int


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _live_sibling(row: NodeRow, stale_before: datetime, alive: Callable[[int], bool]) -> bool:
    """A row of this node's name that is not dead: not stopped, heartbeat fresh, and either on
    another host (nothing to ask) or a process that is still running here."""
    if row.stopped_at is not None or row.last_seen < stale_before:
        return False
    return row.host != socket.gethostname()[:128] or alive(row.pid)


class NodeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, me: NodeIdentity, *, now: datetime) -> None:
        async with self.db.session() as s:
            s.add(NodeRow(owner=me.owner, node=me.node, host=socket.gethostname()[:128], pid=os.getpid(),
                          started_at=now, last_seen=now))

    async def beat(self, me: NodeIdentity, *, now: datetime) -> None:
        async with self.db.session() as s:
            await s.execute(update(NodeRow).where(NodeRow.owner == me.owner).values(last_seen=now))

    async def stopped(self, me: NodeIdentity, *, now: datetime) -> None:
        async with self.db.session() as s:
            await s.execute(update(NodeRow).where(NodeRow.owner == me.owner).values(last_seen=now, stopped_at=now))

    async def dead_owners(self, me: NodeIdentity, *, now: datetime, stale_after: timedelta,
                          alive: Callable[[int], bool] = process_alive) -> list[NodeRow]:
        async with self.db.session() as s:
            rows = (await s.execute(select(NodeRow).where(
                NodeRow.owner != me.owner, NodeRow.reconciled_at.is_(None),
                or_(NodeRow.stopped_at.is_not(None), NodeRow.node == me.node,
                    NodeRow.last_seen < now - stale_after)))).scalars().all()
        return [row for row in rows if not _live_sibling(row, now - stale_after, alive)]

    async def live_others(self, me: NodeIdentity, *, now: datetime, stale_after: timedelta) -> list[str]:
        """Other node ids with a fresh heartbeat (this node's own earlier incarnations excluded)."""
        async with self.db.session() as s:
            rows = (await s.execute(select(NodeRow.node).where(
                NodeRow.node != me.node, NodeRow.stopped_at.is_(None),
                NodeRow.last_seen >= now - stale_after).distinct())).scalars().all()
            return sorted(rows)

    async def prune(self, *, before: datetime) -> int:
        """Forget owners reconciled before ``before`` (one row per start would grow forever)."""
        async with self.db.session() as s:
            result = await s.execute(delete(NodeRow).where(NodeRow.reconciled_at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reconcile(self, dead: NodeRow, *, now: datetime) -> Reconciled | None:
        """Close the dead owner's open calls; None when another node already did."""
        async with self.db.session() as s:
            taken = await s.execute(update(NodeRow).where(NodeRow.owner == dead.owner,
                                                          NodeRow.reconciled_at.is_(None))
                                    .values(reconciled_at=now))
            if not taken.rowcount:  # type: ignore[attr-defined]
                return None
            died_at = dead.stopped_at or dead.last_seen
            calls = (await s.execute(select(CallRow).where(CallRow.owner == dead.owner,
                                                           CallRow.ended_at.is_(None)))).scalars().all()
            for call in calls:
                await _close(s, call, died_at)
            return Reconciled(dead.owner, died_at, len(calls))


async def _close(s: AsyncSession, call: CallRow, died_at: datetime) -> None:
    last_event = await s.scalar(select(func.max(CallEventRow.at)).where(CallEventRow.call_id == call.call_id))
    ended_at = max(t for t in (died_at, last_event, call.started_at) if t is not None)
    fields: dict[str, object] = {"ended_at": ended_at, "disposition": Disposition.LOST_ON_RESTART.value}
    if call.queue is None:  # the queue it was waiting in, from its timeline (a returning caller's credit)
        joined = (await s.execute(select(CallEventRow.data, CallEventRow.at).where(
            and_(CallEventRow.call_id == call.call_id, CallEventRow.kind == CallEventKind.QUEUE_JOINED.value))
            .order_by(CallEventRow.seq.desc()).limit(1))).first()
        queue = joined[0].get("queue") if joined is not None and isinstance(joined[0], dict) else None
        if queue and joined is not None:
            fields["queue"] = str(queue)[:64]
            fields["waited_seconds"] = max((ended_at - joined[1]).total_seconds(), 0.0)
    # Only while the dead owner still has it: another node may have resumed the call meanwhile
    # (several nodes: the dialplan sent the caller on), and that leg is live.
    await s.execute(update(CallRow).where(CallRow.call_id == call.call_id, CallRow.owner == call.owner,
                                          CallRow.ended_at.is_(None)).values(**fields)
                    .execution_options(synchronize_session=False))


class NodeHeartbeat:
    """The ``node`` component: registers this process, reconciles dead ones at start (and whenever
    another node's heartbeat goes stale), then beats until stopped."""

    name = "node"

    def __init__(self, store: NodeStore, me: NodeIdentity, bus: EventBus, settings: NodeSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.me = me
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self._registered = False

    async def run(self, started: asyncio.Event) -> None:
        if not self._registered:  # a restarted component is the same process: one row
            await self.refuse_a_second_node_on_sqlite()
            await self.store.register(self.me, now=self.clock())
            self._registered = True
        await self.reconcile()
        await self.store.prune(before=self.clock() - KEEP_RECONCILED)
        started.set()
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self.store.beat(self.me, now=self.clock())
                await self.reconcile()
            except Exception:  # the database is away for a moment: beat again next time, loudly
                log.exception("node heartbeat failed")

    async def refuse_a_second_node_on_sqlite(self) -> None:
        """SQLite is one process's database: two nodes on it would be two contact centres (each
        its own line and agents). Several nodes share one line on PostgreSQL only."""
        if not self.store.db.is_sqlite:
            return
        others = await self.store.live_others(self.me, now=self.clock(),
                                              stale_after=timedelta(seconds=self.settings.stale_after_seconds))
        if others:
            raise ConfigurationError(
                f"node {others[0]!r} is running on this SQLite database: several nodes need PostgreSQL "
                "(set IVR_DATABASE_URL=postgresql://...), or stop that node first")

    async def reconcile(self) -> list[Reconciled]:
        now = self.clock()
        done: list[Reconciled] = []
        for dead in await self.store.dead_owners(self.me, now=now,
                                                 stale_after=timedelta(seconds=self.settings.stale_after_seconds)):
            result = await self.store.reconcile(dead, now=now)
            if result is None:
                continue
            done.append(result)
            log.log(logging.WARNING if result.calls else logging.INFO, "closed calls left open by a dead process",
                        # not ISO: the log masker takes "2026-12-06..." for a phone number
                        extra={"dead_owner": result.owner, "died_at": f"{result.died_at:%Y/%m/%d %H:%M:%S.%f} UTC",
                               "calls_lost_on_restart": result.calls})
            if result.calls:
                self.bus.publish(CallsLostOnRestart(owner=result.owner, count=result.calls, died_at=result.died_at))
        return done

    async def aclose(self) -> None:
        """A clean stop: the calls still open now are closed by the next node that looks."""
        if not self._registered:
            return
        try:
            await self.store.stopped(self.me, now=self.clock())
        except Exception:  # the next start sees the stale heartbeat instead
            log.exception("cannot record this node's stop")
