"""Routing: who is next and which agent takes them. Pure, synchronous and in memory.

Rules:
- entries are served by priority (higher first), then arrival time (earlier first), then join order;
- an entry goes to the longest-idle available agent that has every skill its queue requires at the
  required level;
- an agent holds at most one contact, from the offer (ringing) until :meth:`Router.end_contact`;
  state changes asked for meanwhile are kept as ``pending`` and applied when the contact ends;
- a ring-no-answer puts the agent away (offline when unreachable) and the entry back in line with
  its arrival time, i.e. at the head; nothing is ever dropped: an entry leaves only through
  :meth:`Router.answered` or :meth:`Router.leave`.

Every agent state change is appended to :attr:`Router.changes` for the service to publish/persist.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ivr.acd.types import (
    AgentAssignment,
    AgentState,
    EntryKind,
    InvalidTransition,
    StateReason,
    UnknownAgent,
    UnknownQueue,
)

# States that count as staffing a queue (for EWT's s and for "no agents at all").
STAFFED = frozenset({AgentState.AVAILABLE, AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP})
# States only Puente itself may enter (through an offer / a contact).
_ROUTED_ONLY = frozenset({AgentState.RINGING})


@dataclass(slots=True)
class RouterEntry:
    entry_id: str
    queue: str
    kind: EntryKind
    arrival: datetime
    priority: int
    seq: int
    agent_id: str | None = None  # set while an agent is being offered this entry
    for_agent: str | None = None  # a transfer to that agent: offered only to them (until they miss it)

    @property
    def key(self) -> tuple[int, datetime, int]:
        return (-self.priority, self.arrival, self.seq)


@dataclass(slots=True)
class RouterAgent:
    agent_id: str
    endpoint: str
    skills: dict[str, int]
    state: AgentState
    since: datetime
    reason: StateReason = StateReason.ADMIN
    contact: str | None = None  # the entry being offered / handled
    pending: tuple[AgentState, StateReason] | None = None
    wrap_up_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgentChange:
    agent_id: str
    previous: AgentState
    state: AgentState
    reason: StateReason
    at: datetime


@dataclass
class Router:
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    agents: dict[str, RouterAgent] = field(default_factory=dict)
    entries: dict[str, RouterEntry] = field(default_factory=dict)
    changes: list[AgentChange] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ configuration
    def set_queue(self, name: str, skills: dict[str, int]) -> None:
        self.queues[name] = dict(skills)

    def upsert_agent(
        self, agent_id: str, endpoint: str, skills: dict[str, int], *, at: datetime,
        state: AgentState = AgentState.OFFLINE, reason: StateReason = StateReason.ADMIN,
    ) -> None:
        agent = self.agents.get(agent_id)
        if agent is None:
            self.agents[agent_id] = RouterAgent(agent_id, endpoint, dict(skills), state, at, reason)
            return
        agent.endpoint, agent.skills = endpoint, dict(skills)

    def remove_agent(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        if agent.contact is not None:
            raise InvalidTransition(f"agent {agent_id} is handling a contact")
        del self.agents[agent_id]

    # ------------------------------------------------------------------ agent state
    def set_state(self, agent_id: str, state: AgentState, *, at: datetime,
                  reason: StateReason = StateReason.ADMIN) -> None:
        """A state change from outside (CLI, API, device): never breaks a contact in progress."""
        agent = self._agent(agent_id)
        if state in _ROUTED_ONLY:
            raise InvalidTransition(f"{state.value} is entered only by routing")
        if agent.contact is not None:
            agent.pending = (state, reason)
            return
        self._move(agent, state, reason, at)
        if state is AgentState.WRAP_UP:
            agent.wrap_up_until = None  # an explicit wrap-up lasts until changed

    def _move(self, agent: RouterAgent, state: AgentState, reason: StateReason, at: datetime) -> None:
        agent.wrap_up_until = None
        if agent.state is state and agent.reason is reason:
            return
        previous = agent.state
        agent.state, agent.reason = state, reason
        if previous is not state:
            agent.since = at
            self.changes.append(AgentChange(agent.agent_id, previous, state, reason, at))

    def tick(self, at: datetime) -> None:
        """End the wrap-ups that are over."""
        for agent in self.agents.values():
            if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None and agent.wrap_up_until <= at:
                self._move(agent, AgentState.AVAILABLE, StateReason.WRAP_UP_DONE, at)

    def extend_wrap_up(self, agent_id: str, seconds: float, *, at: datetime) -> datetime:
        """More time for the notes of a timed wrap-up: its end moves ``seconds`` later (from now if
        it had already passed). Only a wrap-up that ends by itself can be extended."""
        agent = self._agent(agent_id)
        if agent.state is not AgentState.WRAP_UP or agent.wrap_up_until is None:
            raise InvalidTransition(f"agent {agent_id} is not in a timed wrap-up")
        agent.wrap_up_until = max(agent.wrap_up_until, at) + timedelta(seconds=seconds)
        return agent.wrap_up_until

    def next_wrap_up_end(self) -> datetime | None:
        ends = [a.wrap_up_until for a in self.agents.values() if a.wrap_up_until is not None]
        return min(ends) if ends else None

    # ------------------------------------------------------------------ entries
    def join(self, entry_id: str, queue: str, *, arrival: datetime, priority: int = 0,
             kind: EntryKind = EntryKind.CALL, for_agent: str | None = None) -> RouterEntry:
        if queue not in self.queues:
            raise UnknownQueue(queue)
        if entry_id in self.entries:
            raise ValueError(f"entry {entry_id} is already queued")
        entry = RouterEntry(entry_id, queue, kind, arrival, priority, next(self._seq), for_agent=for_agent)
        self.entries[entry_id] = entry
        return entry

    def move(self, entry_id: str, queue: str) -> None:
        """Overflow to another queue, keeping the arrival time (and so the place in time)."""
        if queue not in self.queues:
            raise UnknownQueue(queue)
        entry = self.entries[entry_id]
        if entry.agent_id is not None:
            raise InvalidTransition(f"entry {entry_id} is being offered")
        entry.queue = queue

    def leave(self, entry_id: str, *, at: datetime) -> RouterEntry | None:
        """The entry leaves without being served (hangup, callback, overflow...)."""
        entry = self.entries.pop(entry_id, None)
        if entry is not None and entry.agent_id is not None:
            agent = self.agents.get(entry.agent_id)
            if agent is not None and agent.contact == entry_id:
                self._release(agent, AgentState.AVAILABLE, StateReason.CONTACT, at)
        return entry

    def dispatch(self, at: datetime) -> list[AgentAssignment]:
        """Offer waiting entries to free agents, best entry first; returns the new offers."""
        self.tick(at)
        offers: list[AgentAssignment] = []
        for entry in sorted(self.entries.values(), key=lambda e: e.key):
            if entry.agent_id is not None:
                continue
            agent = self._pinned(entry.for_agent) if entry.for_agent else self._best_agent(entry.queue)
            if agent is None:
                continue
            entry.agent_id = agent.agent_id
            agent.contact = entry.entry_id
            self._move(agent, AgentState.RINGING, StateReason.OFFER, at)
            offers.append(AgentAssignment(entry.entry_id, agent.agent_id, agent.endpoint, entry.queue, at,
                                          entry.arrival))
        return offers

    def answered(self, entry_id: str, *, at: datetime) -> RouterEntry:
        """The offered agent answered: the entry is served; the agent is busy until end_contact."""
        entry = self.entries[entry_id]
        if entry.agent_id is None:
            raise InvalidTransition(f"entry {entry_id} was not offered")
        agent = self.agents[entry.agent_id]
        del self.entries[entry_id]
        self._move(agent, AgentState.BUSY, StateReason.CONTACT, at)
        return entry

    def mark_talking(self, agent_id: str, *, at: datetime) -> None:
        """Telephony says the ringing agent picked up (e.g. AMI device INUSE) before the dial
        result reached us: show them busy; the entry stays offered until :meth:`answered`."""
        agent = self._agent(agent_id)
        if agent.contact is not None and agent.state is AgentState.RINGING:
            self._move(agent, AgentState.BUSY, StateReason.CONTACT, at)

    def take(self, entry_id: str, *, at: datetime) -> RouterEntry:
        """A callback claims its offered agent: the entry leaves the line, the agent stays reserved
        (ringing) until :meth:`contact_answered` / :meth:`end_contact` / :meth:`drop_contact`."""
        entry = self.entries[entry_id]
        if entry.agent_id is None:
            raise InvalidTransition(f"entry {entry_id} was not offered")
        del self.entries[entry_id]
        return entry

    def contact_answered(self, agent_id: str, *, at: datetime) -> None:
        agent = self._agent(agent_id)
        if agent.contact is not None and agent.contact not in self.entries:
            self._move(agent, AgentState.BUSY, StateReason.CONTACT, at)

    def drop_contact(self, agent_id: str, state: AgentState, reason: StateReason, *, at: datetime) -> None:
        """A taken contact ended without talk: the agent goes to ``state`` (pending changes apply
        only when the agent is not at fault)."""
        agent = self._agent(agent_id)
        if agent.contact is None or agent.contact in self.entries:
            return
        if state is not AgentState.AVAILABLE:
            agent.pending = None
        self._release(agent, state, reason, at)

    def no_answer(self, entry_id: str, *, at: datetime, unreachable: bool = False) -> None:
        """The agent did not take it: agent away (offline if unreachable), entry back at its place."""
        entry = self.entries[entry_id]
        if entry.agent_id is None:
            raise InvalidTransition(f"entry {entry_id} was not offered")
        agent = self.agents[entry.agent_id]
        entry.agent_id = None
        entry.for_agent = None  # a transfer the named agent missed goes to the queue like any caller
        agent.pending = None  # the agent plainly is not there: that beats a queued change
        if unreachable:
            self._release(agent, AgentState.OFFLINE, StateReason.UNREACHABLE, at)
        else:
            self._release(agent, AgentState.AWAY, StateReason.NO_ANSWER, at)

    def end_contact(self, agent_id: str, *, at: datetime, wrap_up_seconds: float) -> None:
        """The answered contact is over: wrap-up (or straight back to available)."""
        agent = self._agent(agent_id)
        if agent.contact is None:
            return
        if agent.contact in self.entries:
            raise InvalidTransition(f"agent {agent_id}'s contact was not answered")
        if wrap_up_seconds > 0 and agent.pending is None:
            self._release(agent, AgentState.WRAP_UP, StateReason.CONTACT, at)
            agent.wrap_up_until = at + timedelta(seconds=wrap_up_seconds)
        else:
            self._release(agent, AgentState.AVAILABLE, StateReason.CONTACT, at)

    def abandon_contact(self, agent_id: str, *, at: datetime) -> None:
        """The node carrying the agent's offer or contact died with it (the caller went too): the
        agent is free again, as after a restart (pending changes apply)."""
        agent = self._agent(agent_id)
        if agent.contact is None:
            return
        entry = self.entries.get(agent.contact)
        if entry is not None and entry.agent_id == agent_id:
            entry.agent_id = None
        self._release(agent, AgentState.AVAILABLE, StateReason.ADMIN, at)

    def _release(self, agent: RouterAgent, state: AgentState, reason: StateReason, at: datetime) -> None:
        agent.contact = None
        pending, agent.pending = agent.pending, None
        if pending is not None:
            state, reason = pending
        self._move(agent, state, reason, at)

    # ------------------------------------------------------------------ queries
    def qualifies(self, agent: RouterAgent, queue: str) -> bool:
        required = self.queues.get(queue)
        if required is None:
            return False
        return all(agent.skills.get(skill, -1) >= level for skill, level in required.items())

    def _pinned(self, agent_id: str) -> RouterAgent | None:
        """The named agent of a transfer, when free (skills do not matter: a person chose them)."""
        agent = self.agents.get(agent_id)
        free = agent is not None and agent.state is AgentState.AVAILABLE and agent.contact is None
        return agent if free else None

    def _best_agent(self, queue: str) -> RouterAgent | None:
        free = [a for a in self.agents.values()
                if a.state is AgentState.AVAILABLE and a.contact is None and self.qualifies(a, queue)]
        return min(free, key=lambda a: (a.since, a.agent_id)) if free else None

    def in_queue(self, queue: str) -> list[RouterEntry]:
        return sorted((e for e in self.entries.values() if e.queue == queue), key=lambda e: e.key)

    def position(self, entry_id: str) -> int:
        """1-based place in its queue (entries being offered count: they are ahead)."""
        entry = self.entries[entry_id]
        return sum(1 for e in self.entries.values() if e.queue == entry.queue and e.key < entry.key) + 1

    def staffed(self, queue: str) -> int:
        return sum(1 for a in self.agents.values() if a.state in STAFFED and self.qualifies(a, queue))

    def qualified_agents(self, queue: str) -> list[RouterAgent]:
        return [a for a in self.agents.values() if self.qualifies(a, queue)]

    def agent_for(self, entry_id: str) -> RouterAgent | None:
        entry = self.entries.get(entry_id)
        if entry is None or entry.agent_id is None:
            return None
        return self.agents[entry.agent_id]

    def _agent(self, agent_id: str) -> RouterAgent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def drain_changes(self) -> list[AgentChange]:
        out, self.changes = self.changes, []
        return out
