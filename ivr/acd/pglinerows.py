"""The shared line's rows in and out of one routing transaction: :func:`load_line` reads the part
of the line a change can touch into a :class:`~ivr.acd.router.Router`, :func:`write_line` writes
back only the rows that changed (see :mod:`ivr.acd.pgline` for the lock around both)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from ivr.acd.line import NewEntry, fresh_router
from ivr.acd.router import Router, RouterAgent, RouterEntry
from ivr.acd.types import AgentState, EntryKind, StateReason

ENTRY_COLS = "entry_id, queue, kind, arrival, priority, seq, owner, agent_id, call_id"
_AGENTS_AND_QUEUES = (
    "SELECT 'a' AS t, agent_id, endpoint, skills::text AS skills, state, reason, since, contact, pending_state,"
    " pending_reason, wrap_up_until FROM acd_line_agents UNION ALL SELECT 'q', name, NULL, skills::text, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL FROM acd_line_queues")


@dataclass
class LoadedLine:
    """One transaction's view of the line: the router it acts on, and what the rows were before."""

    router: Router
    owners: dict[str, str]
    call_ids: dict[str, str | None]
    agents_before: dict[str, tuple[object, ...]]
    entries_before: dict[str, tuple[object, ...]]
    new_entries: list[NewEntry] = field(default_factory=list)
    orphans: list[tuple[object, ...]] = field(default_factory=list)  # rows for acd_line_orphans


def _agent_tuple(a: RouterAgent) -> tuple[object, ...]:
    return (a.state, a.reason, a.since, a.contact, a.pending, a.wrap_up_until, a.endpoint, a.skills)


def _entry_tuple(e: RouterEntry) -> tuple[object, ...]:
    return (e.queue, e.agent_id)


async def load_line(conn: asyncpg.Connection, named: Sequence[str], extra_free: int) -> LoadedLine:
    """The part of the line a change and the routing after it can touch: every agent, the entries
    being offered, the ``named`` ones, and per queue the first ``free + 1`` entries not offered.
    Within one queue every entry needs the same skills, so when its k-th entry finds no free agent
    neither does any later one: with at most ``free + 1`` agents free after the change (a change
    frees at most one; a reap says how many more), nothing further down the line could be offered."""
    rows = await conn.fetch(_AGENTS_AND_QUEUES)  # one round trip for both
    queues = [r for r in rows if r["t"] == "q"]
    agents = [r for r in rows if r["t"] == "a"]
    # free now, or freed by routing's own tick (a wrap-up with a timer), plus what the change frees
    free = extra_free + sum(1 for r in agents if r["contact"] is None and (
        r["state"] == AgentState.AVAILABLE.value or r["wrap_up_until"] is not None))
    # (top: the last join order number; when no row comes back the line is empty: every entry is
    # either offered or first of its queue's entries not offered)
    entries = await conn.fetch(
        f"SELECT {ENTRY_COLS}, top FROM (SELECT *, row_number() OVER (PARTITION BY queue, agent_id IS NULL"
        "  ORDER BY priority DESC, arrival, seq) AS place, max(seq) OVER () AS top FROM acd_line_entries) e"
        " WHERE agent_id IS NOT NULL OR place <= $1 OR entry_id = ANY($2::varchar[])", free + 1, list(named))
    router = fresh_router((entries[0]["top"] if entries else 0) + 1)
    for q in queues:
        router.set_queue(q["agent_id"], json.loads(q["skills"]))
    for r in agents:
        pending = None
        if r["pending_state"] is not None:
            pending = (AgentState(r["pending_state"]), StateReason(r["pending_reason"]))
        router.agents[r["agent_id"]] = RouterAgent(
            r["agent_id"], r["endpoint"], json.loads(r["skills"]), AgentState(r["state"]), r["since"],
            StateReason(r["reason"]), r["contact"], pending, r["wrap_up_until"])
    owners: dict[str, str] = {}
    call_ids: dict[str, str | None] = {}
    for r in entries:
        router.entries[r["entry_id"]] = RouterEntry(r["entry_id"], r["queue"], EntryKind(r["kind"]), r["arrival"],
                                                    r["priority"], r["seq"], r["agent_id"])
        owners[r["entry_id"]] = r["owner"]
        call_ids[r["entry_id"]] = r["call_id"]
    return LoadedLine(router, owners, call_ids,
                   {a.agent_id: _agent_tuple(a) for a in router.agents.values()},
                   {e.entry_id: _entry_tuple(e) for e in router.entries.values()})


async def write_line(conn: asyncpg.Connection, s: LoadedLine, lease_seconds: float) -> bool:
    """Write back what changed; True when the line's entries changed (other nodes' positions)."""
    r = s.router
    gone = [eid for eid in s.entries_before if eid not in r.entries]
    if gone:
        await conn.execute("DELETE FROM acd_line_entries WHERE entry_id = ANY($1::varchar[])", gone)
    changed = [(e.entry_id, e.queue, e.agent_id) for eid, e in r.entries.items()
               if eid in s.entries_before and s.entries_before[eid] != _entry_tuple(e)]
    if changed:
        await conn.executemany("UPDATE acd_line_entries SET queue = $2, agent_id = $3 WHERE entry_id = $1", changed)
    new = [(n.entry_id, n.queue, n.kind.value, n.arrival, r.entries[n.entry_id].priority, r.entries[n.entry_id].seq,
            n.owner, r.entries[n.entry_id].agent_id, n.call_id, lease_seconds)
           for n in s.new_entries if n.entry_id in r.entries]
    if new:
        await conn.executemany(
            "INSERT INTO acd_line_entries (entry_id, queue, kind, arrival, priority, seq, owner, agent_id, call_id,"
            " lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))", new)
    if s.orphans:  # a dead node's callers: out of line, their place kept (see PgLine.reap)
        await conn.executemany(
            "INSERT INTO acd_line_orphans (call_id, entry_id, queue, kind, arrival, priority, owner, orphaned_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (call_id) DO UPDATE SET"
            " entry_id = EXCLUDED.entry_id, queue = EXCLUDED.queue, kind = EXCLUDED.kind,"
            " arrival = LEAST(acd_line_orphans.arrival, EXCLUDED.arrival),"
            " priority = GREATEST(acd_line_orphans.priority, EXCLUDED.priority), owner = EXCLUDED.owner,"
            " orphaned_at = EXCLUDED.orphaned_at", s.orphans)
    agents = []
    for aid, a in r.agents.items():
        before = s.agents_before.get(aid)
        if before == _agent_tuple(a):
            continue
        contact_changed = before is None or before[3] != a.contact
        owner = s.owners.get(a.contact) if a.contact is not None else None
        agents.append((aid, a.endpoint, json.dumps(a.skills), a.state.value, a.reason.value, a.since, a.contact,
                       a.pending[0].value if a.pending else None, a.pending[1].value if a.pending else None,
                       a.wrap_up_until, contact_changed, owner, lease_seconds))
    if agents:
        await conn.executemany(
            "UPDATE acd_line_agents SET endpoint = $2, skills = $3::json, state = $4, reason = $5, since = $6,"
            " contact = $7, pending_state = $8, pending_reason = $9, wrap_up_until = $10,"
            " offer_owner = CASE WHEN $11 THEN $12 ELSE offer_owner END,"
            " lease_until = CASE WHEN NOT $11 THEN lease_until WHEN $7::varchar IS NULL THEN NULL"
            " ELSE now() + make_interval(secs => $13) END"
            " WHERE agent_id = $1", agents)
    return bool(gone or changed or new)
