"""The shared line: the port in front of the router that lets one contact centre run on one or
several nodes.

The routing decisions stay in :class:`ivr.acd.router.Router` (pure, synchronous). A ``SharedLine``
decides *where the router's state lives and who may change it*:

- :class:`MemoryLine` keeps one router in this process (a single node; SQLite is enough);
- :class:`ivr.acd.pgline.PgLine` keeps the entries, agent states and offers in PostgreSQL, and each
  operation is one transaction that applies the same router method to the shared state.

Every mutating operation routes what can be routed right after it (as ``AcdService`` does after
each change), so the result carries the new offers and the agent state changes to publish.
Offers belong to the node that owns the entry (its hold loop or callback dials the agent).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.acd.router import AgentChange, Router
from ivr.acd.types import AgentAssignment, AgentState, EntryKind, StateReason


@dataclass(frozen=True, slots=True)
class LineAgent:
    """An agent as configured (name/endpoint/skills); its state is kept by the line."""

    agent_id: str
    endpoint: str
    skills: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class NewEntry:
    entry_id: str
    queue: str
    arrival: datetime
    owner: str  # the node (``<node>:<incarnation>``) whose hold loop / callback waits on it
    priority: int = 0
    kind: EntryKind = EntryKind.CALL
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """A new offer and the node that must act on it (the entry's owner)."""

    assignment: AgentAssignment
    owner: str


@dataclass(frozen=True, slots=True)
class LineResult:
    offers: tuple[Offer, ...] = ()
    changes: tuple[AgentChange, ...] = ()


@dataclass(frozen=True, slots=True)
class LineEntry:
    entry_id: str
    queue: str
    kind: EntryKind
    arrival: datetime
    priority: int
    seq: int
    owner: str
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class LineAgentState:
    agent_id: str
    state: AgentState
    reason: StateReason
    since: datetime
    contact: str | None
    wrap_up_until: datetime | None = None  # a contact's wrap-up ends then (routing ends it)


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    """The whole line, entries in global order (priority, arrival, join order)."""

    entries: tuple[LineEntry, ...]
    agents: tuple[LineAgentState, ...]

    def in_queue(self, queue: str) -> list[LineEntry]:
        return [e for e in self.entries if e.queue == queue]

    def position(self, entry_id: str) -> int | None:
        """1-based place in its queue (entries being offered count: they are ahead)."""
        for entry in self.entries:
            if entry.entry_id == entry_id:
                return sum(1 for e in self.in_queue(entry.queue) if _key(e) < _key(entry)) + 1
        return None


def _key(e: LineEntry) -> tuple[int, datetime, int]:
    return (-e.priority, e.arrival, e.seq)


class SharedLine(Protocol):
    async def configure(self, queues: Mapping[str, Mapping[str, int]], agents: Sequence[LineAgent], *,
                        at: datetime) -> None: ...
    async def join(self, entry: NewEntry, *, at: datetime) -> LineResult: ...
    async def leave(self, entry_id: str, *, at: datetime) -> LineResult: ...
    async def move(self, entry_id: str, queue: str, *, at: datetime) -> LineResult: ...
    async def set_state(self, agent_id: str, state: AgentState, *, at: datetime,
                        reason: StateReason = StateReason.ADMIN) -> LineResult: ...
    async def dispatch(self, *, at: datetime) -> LineResult: ...
    async def answered(self, entry_id: str, *, at: datetime) -> LineResult: ...
    async def no_answer(self, entry_id: str, *, at: datetime, unreachable: bool = False) -> LineResult: ...
    async def end_contact(self, agent_id: str, *, at: datetime, wrap_up_seconds: float) -> LineResult: ...
    async def take(self, entry_id: str, *, at: datetime) -> LineResult: ...
    async def snapshot(self) -> LineSnapshot: ...


def snapshot_of(router: Router, owners: Mapping[str, str]) -> LineSnapshot:
    entries = tuple(LineEntry(e.entry_id, e.queue, e.kind, e.arrival, e.priority, e.seq, owners.get(e.entry_id, ""),
                              e.agent_id) for e in sorted(router.entries.values(), key=lambda e: e.key))
    agents = tuple(LineAgentState(a.agent_id, a.state, a.reason, a.since, a.contact, a.wrap_up_until)
                   for a in sorted(router.agents.values(), key=lambda a: a.agent_id))
    return LineSnapshot(entries, agents)


@dataclass
class MemoryLine:
    """One node: the router in this process, exactly today's behaviour behind the port."""

    router: Router = field(default_factory=Router)
    owners: dict[str, str] = field(default_factory=dict)

    def _apply(self, op: Callable[[Router], object], at: datetime) -> LineResult:
        op(self.router)
        offers = tuple(Offer(a, self.owners.get(a.entry_id, "")) for a in self.router.dispatch(at))
        return LineResult(offers, tuple(self.router.drain_changes()))

    async def configure(self, queues: Mapping[str, Mapping[str, int]], agents: Sequence[LineAgent], *,
                        at: datetime) -> None:
        for name, skills in queues.items():
            self.router.set_queue(name, dict(skills))
        for a in agents:
            self.router.upsert_agent(a.agent_id, a.endpoint, dict(a.skills), at=at)

    async def join(self, entry: NewEntry, *, at: datetime) -> LineResult:
        def op(r: Router) -> None:
            r.join(entry.entry_id, entry.queue, arrival=entry.arrival, priority=entry.priority, kind=entry.kind)
            self.owners[entry.entry_id] = entry.owner
        return self._apply(op, at)

    async def leave(self, entry_id: str, *, at: datetime) -> LineResult:
        self.owners.pop(entry_id, None)
        return self._apply(lambda r: r.leave(entry_id, at=at), at)

    async def move(self, entry_id: str, queue: str, *, at: datetime) -> LineResult:
        return self._apply(lambda r: r.move(entry_id, queue), at)

    async def set_state(self, agent_id: str, state: AgentState, *, at: datetime,
                        reason: StateReason = StateReason.ADMIN) -> LineResult:
        return self._apply(lambda r: r.set_state(agent_id, state, at=at, reason=reason), at)

    async def dispatch(self, *, at: datetime) -> LineResult:
        return self._apply(lambda r: None, at)

    async def answered(self, entry_id: str, *, at: datetime) -> LineResult:
        self.owners.pop(entry_id, None)
        return self._apply(lambda r: r.answered(entry_id, at=at), at)

    async def no_answer(self, entry_id: str, *, at: datetime, unreachable: bool = False) -> LineResult:
        return self._apply(lambda r: r.no_answer(entry_id, at=at, unreachable=unreachable), at)

    async def end_contact(self, agent_id: str, *, at: datetime, wrap_up_seconds: float) -> LineResult:
        return self._apply(lambda r: r.end_contact(agent_id, at=at, wrap_up_seconds=wrap_up_seconds), at)

    async def take(self, entry_id: str, *, at: datetime) -> LineResult:
        self.owners.pop(entry_id, None)
        return self._apply(lambda r: r.take(entry_id, at=at), at)

    async def snapshot(self) -> LineSnapshot:
        return snapshot_of(self.router, self.owners)


def fresh_router(seq_start: int) -> Router:
    """A router whose next join gets ``seq_start`` (the shared line's global join order)."""
    return Router(_seq=itertools.count(seq_start))
