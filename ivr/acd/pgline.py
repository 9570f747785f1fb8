"""The shared line on PostgreSQL: one contact centre on several nodes.

Coordination (why this and not another way, see docs/architecture.md "Several nodes"):

- **Every change to the line is one transaction under one advisory lock**
  (``pg_advisory_xact_lock``). A routing decision needs the global view: the best entry across
  the line (priority, then arrival, then join order) and the longest-idle qualified agent. Row
  locks with ``SKIP LOCKED`` would let a node skip a locked head entry and offer the second one
  first, breaking the one global order; one lock per contact centre keeps the order and makes an
  offer exclusive by construction. The transaction loads the line, applies the same pure
  :class:`~ivr.acd.router.Router` method a single node applies, routes, and writes back only the
  rows that changed; the lock is held for a few milliseconds.
- **Offers have an owner and a lease.** An offer belongs to the node that owns the entry (its hold
  loop dials the agent); the node renews the leases of its entries and offers every
  ``lease/3``. When a node dies (SIGKILL) its leases run out and any node's reaper takes its
  entries out of line and frees its agents (at once for owners the caller knows are dead).
- **LISTEN/NOTIFY wakes nodes**: each offer is one ``pg_notify`` carrying the assignment and the
  owner node (delivered at commit), agent state changes one more, so every node sees a change
  within the notification delay (milliseconds), not a poll period.

Here the transaction and the node's operations on the line; the rows read and written in it are
:mod:`ivr.acd.pglinerows`, the notifications :mod:`ivr.acd.pgnotify`, the lease and the LISTEN
connection :mod:`ivr.acd.pgwake`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from ivr.acd.line import LineAgent, LineAgentState, LineEntry, LineResult, LineSnapshot, NewEntry, Offer
from ivr.acd.pglinerows import ENTRY_COLS, LoadedLine, load_line, write_line
from ivr.acd.pgnotify import notify_sql
from ivr.acd.types import AgentAssignment, AgentState, EntryKind, StateReason
from ivr.ports import HeldPlace

log = logging.getLogger(__name__)

LOCK_KEY = 0x5075656E7465  # "Puente": the contact centre's one routing lock


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://...`` (SQLAlchemy) → ``postgresql://...`` (asyncpg)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        raise ValueError("the shared line needs a PostgreSQL database URL")
    return f"postgresql://{rest}"


@dataclass(frozen=True, slots=True)
class Reaped:
    entries: int
    agents: int
    result: LineResult


class PgLine:
    """The :class:`~ivr.acd.line.SharedLine` on PostgreSQL, as seen by one node (``owner``)."""

    def __init__(self, pool: asyncpg.Pool, *, owner: str, lease_seconds: float = 6.0,
                 orphan_grace_seconds: float = 600.0) -> None:
        self.pool = pool
        self.owner = owner
        self.node = owner.split(":", 1)[0]
        self.lease_seconds = lease_seconds
        self.orphan_grace_seconds = orphan_grace_seconds

    @classmethod
    async def connect(cls, url: str, *, owner: str, lease_seconds: float = 6.0, max_size: int = 4,
                      orphan_grace_seconds: float = 600.0) -> PgLine:
        pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=1, max_size=max_size)
        return cls(pool, owner=owner, lease_seconds=lease_seconds, orphan_grace_seconds=orphan_grace_seconds)

    async def aclose(self) -> None:
        await self.pool.close()

    async def _txn(self, op: Callable[[LoadedLine], object], at: datetime, named: Sequence[str] = (),
                   prepare: Callable[[asyncpg.Connection], Awaitable[Sequence[str]]] | None = None) -> LineResult:
        # Round trips are most of a change's time: BEGIN goes with the lock, the notifications
        # with COMMIT (simple-query batches; the payloads are our own JSON, quoted below).
        async with self.pool.acquire() as conn:
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_KEY})")
            try:
                if prepare is not None:
                    named = [*named, *await prepare(conn)]
                loaded = await load_line(conn, named, 1 + len(named))
                op(loaded)
                assignments = loaded.router.dispatch(at)
                changes = tuple(loaded.router.drain_changes())
                line_changed = await write_line(conn, loaded, self.lease_seconds)
                offers = tuple(Offer(a, loaded.owners.get(a.entry_id, "")) for a in assignments)
                await conn.execute(notify_sql(offers, changes, line_changed) + "COMMIT")
            except Exception:
                if not conn.is_closed():  # (on cancellation the pool's reset rolls back)
                    await conn.execute("ROLLBACK")
                raise
        return LineResult(offers, changes)

    async def configure(self, queues: Mapping[str, Mapping[str, int]], agents: Sequence[LineAgent], *,
                        at: datetime) -> None:
        """Seed queues and agents (a node's start): new agents come offline, known ones keep their state."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            await conn.executemany(
                "INSERT INTO acd_line_queues (name, skills) VALUES ($1, $2::json)"
                " ON CONFLICT (name) DO UPDATE SET skills = EXCLUDED.skills",
                [(name, json.dumps(dict(skills))) for name, skills in queues.items()])
            await conn.executemany(
                "INSERT INTO acd_line_agents (agent_id, endpoint, skills, state, reason, since)"
                " VALUES ($1, $2, $3::json, $4, $5, $6)"
                " ON CONFLICT (agent_id) DO UPDATE SET endpoint = EXCLUDED.endpoint, skills = EXCLUDED.skills",
                [(a.agent_id, a.endpoint, json.dumps(dict(a.skills)), AgentState.OFFLINE.value,
                  StateReason.ADMIN.value, at) for a in agents])

    # ------------------------------------------------------------------ the line
    async def join(self, entry: NewEntry, *, at: datetime) -> LineResult:
        """Join the line. A call already in line on another node (the same Asterisk channel, sent
        on by the dialplan when that node died: same call id) takes over its entry's place: its
        original arrival and priority; the old entry leaves (freeing an agent being offered it).
        So does a call the reaper orphaned (its node's lease ran out) within the grace period."""
        previous: list[str] = []
        orphaned: list[tuple[datetime, int]] = []

        async def find(conn: asyncpg.Connection) -> Sequence[str]:
            if entry.call_id is not None:  # (one round trip: the lock is held meanwhile)
                for r in await conn.fetch(
                        "WITH o AS (DELETE FROM acd_line_orphans WHERE call_id = $1"
                        "  AND orphaned_at >= now() - make_interval(secs => $3) RETURNING arrival, priority)"
                        " SELECT entry_id, NULL::timestamptz AS arrival, NULL::integer AS priority"
                        " FROM acd_line_entries WHERE call_id = $1 AND owner <> $2"
                        " UNION ALL SELECT NULL, arrival, priority FROM o",
                        entry.call_id, entry.owner, self.orphan_grace_seconds):
                    if r["entry_id"] is not None:
                        previous.append(r["entry_id"])
                    else:
                        orphaned.append((r["arrival"], r["priority"]))
            return previous

        def op(s: LoadedLine) -> None:
            joining = entry
            for arrival, priority in orphaned:
                joining = replace(joining, arrival=min(joining.arrival, arrival),
                                  priority=max(joining.priority, priority))
            for old_id in previous:
                old = s.router.leave(old_id, at=at)
                if old is not None:
                    joining = replace(joining, arrival=min(joining.arrival, old.arrival),
                                      priority=max(joining.priority, old.priority))
            s.router.join(joining.entry_id, joining.queue, arrival=joining.arrival, priority=joining.priority,
                          kind=joining.kind)
            s.owners[joining.entry_id] = joining.owner
            s.new_entries.append(joining)
        return await self._txn(op, at, prepare=find)

    async def leave(self, entry_id: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.leave(entry_id, at=at), at, [entry_id])

    async def move(self, entry_id: str, queue: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.move(entry_id, queue), at, [entry_id])

    async def set_state(self, agent_id: str, state: AgentState, *, at: datetime,
                        reason: StateReason = StateReason.ADMIN) -> LineResult:
        return await self._txn(lambda s: s.router.set_state(agent_id, state, at=at, reason=reason), at)

    async def dispatch(self, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: None, at)

    async def answered(self, entry_id: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.answered(entry_id, at=at), at, [entry_id])

    async def no_answer(self, entry_id: str, *, at: datetime, unreachable: bool = False) -> LineResult:
        return await self._txn(lambda s: s.router.no_answer(entry_id, at=at, unreachable=unreachable), at,
                               [entry_id])

    async def end_contact(self, agent_id: str, *, at: datetime, wrap_up_seconds: float) -> LineResult:
        return await self._txn(lambda s: s.router.end_contact(agent_id, at=at, wrap_up_seconds=wrap_up_seconds), at)

    async def take(self, entry_id: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.take(entry_id, at=at), at, [entry_id])

    async def contact_answered(self, agent_id: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.contact_answered(agent_id, at=at), at)

    async def drop_contact(self, agent_id: str, state: AgentState, reason: StateReason, *,
                           at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.drop_contact(agent_id, state, reason, at=at), at)

    async def extend_wrap_up(self, agent_id: str, seconds: float, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.extend_wrap_up(agent_id, seconds, at=at), at)

    async def mark_talking(self, agent_id: str, *, at: datetime) -> LineResult:
        return await self._txn(lambda s: s.router.mark_talking(agent_id, at=at), at)

    # ------------------------------------------------------------------ reads (no lock)
    async def snapshot(self) -> LineSnapshot:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            entries = await conn.fetch(f"SELECT {ENTRY_COLS} FROM acd_line_entries"
                                       " ORDER BY priority DESC, arrival, seq")
            agents = await conn.fetch("SELECT agent_id, state, reason, since, contact, wrap_up_until"
                                      " FROM acd_line_agents ORDER BY agent_id")
        return LineSnapshot(
            tuple(LineEntry(r["entry_id"], r["queue"], EntryKind(r["kind"]), r["arrival"], r["priority"], r["seq"],
                            r["owner"], r["agent_id"]) for r in entries),
            tuple(LineAgentState(r["agent_id"], AgentState(r["state"]), StateReason(r["reason"]), r["since"],
                                 r["contact"], r["wrap_up_until"]) for r in agents))

    async def position(self, entry_id: str) -> int | None:
        """1-based place in its queue across every node (one indexed count, no lock)."""
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT (SELECT count(*) FROM acd_line_entries o WHERE o.queue = e.queue"
                "  AND (-o.priority, o.arrival, o.seq) < (-e.priority, e.arrival, e.seq)) + 1"
                " FROM acd_line_entries e WHERE e.entry_id = $1", entry_id)
        return int(value) if value is not None else None

    async def offer_for(self, entry_id: str) -> Offer | None:
        """The offer waiting for this entry, if any (a node that missed a notification asks)."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT e.entry_id, e.queue, e.arrival, e.owner, a.agent_id, a.endpoint, a.since"
                " FROM acd_line_entries e JOIN acd_line_agents a ON a.agent_id = e.agent_id"
                " WHERE e.entry_id = $1", entry_id)
        if row is None:
            return None
        return Offer(AgentAssignment(row["entry_id"], row["agent_id"], row["endpoint"], row["queue"], row["since"],
                                     row["arrival"]), row["owner"])

    async def held_place(self, call_id: str) -> HeldPlace | None:
        """The place a call arriving on this node already has: its entry still in line under
        another owner (its node died, the lease has not run out), else its orphan within the grace
        period. None: a new caller (or one whose place is gone)."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT queue, arrival, priority, true AS live FROM acd_line_entries"
                " WHERE call_id = $1 AND owner <> $2 AND kind = $4"
                " UNION ALL SELECT queue, arrival, priority, false FROM acd_line_orphans WHERE call_id = $1"
                " AND kind = $4 AND orphaned_at >= now() - make_interval(secs => $3)"
                " ORDER BY live DESC, arrival LIMIT 1", call_id, self.owner, self.orphan_grace_seconds,
                EntryKind.CALL.value)
        if row is None:
            return None
        return HeldPlace(row["queue"], row["arrival"], row["priority"], row["live"])  # (priority: in line)

    # ------------------------------------------------------------------ leases
    async def renew(self) -> None:
        """This node still carries its entries and offers (called every ``lease_seconds / 3``)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE acd_line_entries SET lease_until = now() + make_interval(secs => $2)"
                               " WHERE owner = $1", self.owner, self.lease_seconds)
            await conn.execute("UPDATE acd_line_agents SET lease_until = now() + make_interval(secs => $2)"
                               " WHERE offer_owner = $1", self.owner, self.lease_seconds)

    async def reap(self, *, at: datetime, dead_owners: Sequence[str] = ()) -> Reaped:
        """Take out of line the entries whose node stopped renewing them (or whose owner is among
        ``dead_owners``, known dead without waiting for the lease), and free the agents whose
        offer/contact went with it. A previous incarnation of this node is not assumed dead: one
        node id may wrongly run twice, and the lease decides then."""
        counts = {"entries": 0, "agents": 0}
        stale: dict[str, set[str]] = {}

        async def find(conn: asyncpg.Connection) -> Sequence[str]:
            dead = [o for o in dead_owners if o != self.owner]
            stale["entries"] = {r["entry_id"] for r in await conn.fetch(
                "SELECT entry_id FROM acd_line_entries WHERE lease_until < now()"
                " OR owner = ANY($1::varchar[])", dead)}
            stale["agents"] = {r["agent_id"] for r in await conn.fetch(
                "SELECT agent_id FROM acd_line_agents WHERE contact IS NOT NULL AND (lease_until < now()"
                " OR offer_owner = ANY($1::varchar[]))", dead)}
            # the entries to load, and (harmless as entry ids) the agents, so that the count of
            # names bounds how many agents the reap can free (see load_line)
            return [*sorted(stale["entries"]), *sorted(stale["agents"])]

        def op(s: LoadedLine) -> None:
            for entry_id in stale["entries"]:
                entry = s.router.entries.get(entry_id)
                call_id = s.call_ids.get(entry_id)
                if entry is not None and call_id is not None and entry.kind is EntryKind.CALL:
                    # the caller may come back through the dialplan on another node: keep the place
                    s.orphans.append((call_id, entry_id, entry.queue, entry.kind.value, entry.arrival,
                                      entry.priority, s.owners.get(entry_id, "")))
                if s.router.leave(entry_id, at=at) is not None:
                    counts["entries"] += 1
            for agent_id in stale["agents"]:
                agent = s.router.agents.get(agent_id)
                if agent is not None and agent.contact is not None:
                    s.router.abandon_contact(agent_id, at=at)
                    counts["agents"] += 1

        async with self.pool.acquire() as conn:  # a cheap look first: most reaps find nothing
            await conn.execute("DELETE FROM acd_line_orphans WHERE orphaned_at < now() - make_interval(secs => $1)",
                               self.orphan_grace_seconds)
            await find(conn)
        if not stale["entries"] and not stale["agents"]:
            return Reaped(0, 0, LineResult())
        result = await self._txn(op, at, prepare=find)  # and again under the lock, to act on it
        if counts["entries"] or counts["agents"]:
            log.warning("shared line: entries and offers of a dead node released",
                        extra={"entries_released": counts["entries"], "agents_released": counts["agents"]})
        return Reaped(counts["entries"], counts["agents"], result)
