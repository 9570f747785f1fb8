"""Property-based tests of the router: random joins, leaves, state changes, offers, answers,
no-answers and callbacks, with the invariants checked after every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ivr.acd.router import Router
from ivr.acd.types import AgentState, EntryKind, InvalidTransition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = {"billing": {"billing": 1}, "support": {"support": 2}, "general": {}}
AGENTS = {
    "a1": {"billing": 1, "support": 2},
    "a2": {"support": 1},
    "a3": {"billing": 2},
    "a4": {},
}
EXTERNAL_STATES = [s for s in AgentState if s is not AgentState.RINGING]
# Available is drawn more often so that several agents are free at once and routing choices matter.
STATE_DRAWS = [*EXTERNAL_STATES, *[AgentState.AVAILABLE] * 5]


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.router = Router()
        for name, skills in QUEUES.items():
            self.router.set_queue(name, skills)
        for agent_id, skills in AGENTS.items():
            self.router.upsert_agent(agent_id, f"PJSIP/{agent_id}", skills, at=T0)
        self.joined: set[str] = set()
        self.served: dict[str, str] = {}  # entry -> agent, answered and still in contact
        self.finished: set[str] = set()  # served and contact ended
        self.left: set[str] = set()
        self.counter = 0

    # ------------------------------------------------------------------ helpers
    def _offered(self) -> list[str]:
        return sorted(e.entry_id for e in self.router.entries.values() if e.agent_id is not None)

    # ------------------------------------------------------------------ rules
    @rule(dt=st.floats(min_value=0, max_value=30))
    def advance(self, dt: float) -> None:
        self.now += timedelta(seconds=dt)

    @rule(queue=st.sampled_from(sorted(QUEUES)), priority=st.integers(0, 2))
    def join(self, queue: str, priority: int) -> None:
        self.counter += 1
        entry_id = f"c{self.counter}"
        self.router.join(entry_id, queue, arrival=self.now, priority=priority)
        self.joined.add(entry_id)

    @rule(queue=st.sampled_from(sorted(QUEUES)), back=st.floats(min_value=0, max_value=600))
    def callback_joins(self, queue: str, back: float) -> None:
        """A callback keeps its caller's original (earlier) arrival time."""
        self.counter += 1
        entry_id = f"cb{self.counter}"
        self.router.join(entry_id, queue, arrival=self.now - timedelta(seconds=back), kind=EntryKind.CALLBACK)
        self.joined.add(entry_id)
        ahead = [e for e in self.router.in_queue(queue) if e.arrival > self.now - timedelta(seconds=back)
                 and e.priority == 0]
        assert all(self.router.position(entry_id) < self.router.position(e.entry_id) for e in ahead)

    @precondition(lambda self: bool(self.router.entries))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(sorted(self.router.entries)))
        assert self.router.leave(entry_id, at=self.now) is not None
        self.left.add(entry_id)

    @rule(agent=st.sampled_from(sorted(AGENTS)), state=st.sampled_from(STATE_DRAWS))
    def set_state(self, agent: str, state: AgentState) -> None:
        self.router.set_state(agent, state, at=self.now)

    @rule(agents=st.sets(st.sampled_from(sorted(AGENTS)), min_size=1), dt=st.floats(min_value=0, max_value=5))
    def agents_log_in(self, agents: set[str], dt: float) -> None:
        for agent in sorted(agents):
            self.now += timedelta(seconds=dt)
            self.router.set_state(agent, AgentState.AVAILABLE, at=self.now)

    @rule(agent=st.sampled_from(sorted(AGENTS)))
    def cannot_force_ringing(self, agent: str) -> None:
        try:
            self.router.set_state(agent, AgentState.RINGING, at=self.now)
        except InvalidTransition:
            return
        raise AssertionError("ringing must only come from routing")

    @rule()
    def dispatch(self) -> None:
        before_offered = {e.entry_id for e in self.router.entries.values() if e.agent_id is not None}
        snapshot = {e.entry_id: (e.queue, e.key) for e in self.router.entries.values()}
        self.router.tick(self.now)
        free = {a.agent_id: a.since for a in self.router.agents.values()
                if a.state is AgentState.AVAILABLE and a.contact is None}
        offers = self.router.dispatch(self.now)
        taken: set[str] = set()
        for offer in offers:
            queue, key = snapshot[offer.entry_id]
            # order: everything ahead in the same queue is already offered
            for other, (q, k) in snapshot.items():
                if q == queue and k < key:
                    assert other in before_offered, (offer, other)
            # agent: the longest idle among qualified free agents
            candidates = [aid for aid in free if aid not in taken
                          and self.router.qualifies(self.router.agents[aid], queue)]
            assert offer.agent_id in candidates
            best = min(candidates, key=lambda aid: (free[aid], aid))
            assert offer.agent_id == best
            taken.add(offer.agent_id)
            before_offered.add(offer.entry_id)
        assert len(taken) == len(offers)
        # nothing left that could have been routed
        for entry in self.router.entries.values():
            if entry.agent_id is None:
                for agent in self.router.agents.values():
                    if agent.state is AgentState.AVAILABLE and agent.contact is None:
                        assert not self.router.qualifies(agent, entry.queue)

    @precondition(lambda self: bool(self._offered()))
    @rule(data=st.data())
    def picked_up(self, data: st.DataObject) -> None:
        """The device says the ringing agent is talking before the dial result arrives."""
        entry_id = data.draw(st.sampled_from(self._offered()))
        agent_id = self.router.entries[entry_id].agent_id
        assert agent_id is not None
        self.router.mark_talking(agent_id, at=self.now)
        assert self.router.agents[agent_id].state is AgentState.BUSY
        assert self.router.entries[entry_id].agent_id == agent_id

    @precondition(lambda self: bool(self._offered()))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(self._offered()))
        agent_id = self.router.entries[entry_id].agent_id
        assert agent_id is not None
        self.router.answered(entry_id, at=self.now)
        self.served[entry_id] = agent_id

    @precondition(lambda self: bool(self._offered()))
    @rule(data=st.data(), unreachable=st.booleans())
    def no_answer(self, data: st.DataObject, unreachable: bool) -> None:
        entry_id = data.draw(st.sampled_from(self._offered()))
        arrival = self.router.entries[entry_id].arrival
        agent_id = self.router.entries[entry_id].agent_id
        assert agent_id is not None
        self.router.no_answer(entry_id, at=self.now, unreachable=unreachable)
        entry = self.router.entries[entry_id]
        assert entry.arrival == arrival and entry.agent_id is None
        expected = AgentState.OFFLINE if unreachable else AgentState.AWAY
        assert self.router.agents[agent_id].state is expected

    @precondition(lambda self: bool(self.served))
    @rule(data=st.data(), wrap=st.sampled_from([0.0, 5.0]))
    def end_contact(self, data: st.DataObject, wrap: float) -> None:
        entry_id = data.draw(st.sampled_from(sorted(self.served)))
        agent_id = self.served.pop(entry_id)
        self.router.end_contact(agent_id, at=self.now, wrap_up_seconds=wrap)
        self.finished.add(entry_id)
        assert self.router.agents[agent_id].contact is None

    @precondition(lambda self: any(e.agent_id is None for e in self.router.entries.values()))
    @rule(data=st.data(), queue=st.sampled_from(sorted(QUEUES)))
    def overflow(self, data: st.DataObject, queue: str) -> None:
        entry_id = data.draw(st.sampled_from(sorted(e.entry_id for e in self.router.entries.values()
                                                    if e.agent_id is None)))
        arrival = self.router.entries[entry_id].arrival
        self.router.move(entry_id, queue)
        assert self.router.entries[entry_id].arrival == arrival

    # ------------------------------------------------------------------ invariants
    @invariant()
    def no_entry_lost(self) -> None:
        live = set(self.router.entries)
        parts = [live, set(self.served), self.finished, self.left]
        assert sum(len(p) for p in parts) == len(self.joined)
        assert set().union(*parts) == self.joined

    @invariant()
    def one_contact_per_agent(self) -> None:
        holders: dict[str, str] = {}
        for entry in self.router.entries.values():
            if entry.agent_id is not None:
                assert entry.agent_id not in holders, "an agent was offered two contacts"
                holders[entry.agent_id] = entry.entry_id
                agent = self.router.agents[entry.agent_id]
                assert agent.contact == entry.entry_id
                assert agent.state in (AgentState.RINGING, AgentState.BUSY)
        for entry_id, agent_id in self.served.items():
            assert agent_id not in holders
            holders[agent_id] = entry_id
            agent = self.router.agents[agent_id]
            assert agent.contact == entry_id
            assert agent.state is AgentState.BUSY
        for agent in self.router.agents.values():
            assert (agent.contact is not None) == (agent.agent_id in holders)
            if agent.state is AgentState.RINGING:
                assert agent.contact is not None

    @invariant()
    def positions_are_a_permutation(self) -> None:
        for queue in QUEUES:
            entries = self.router.in_queue(queue)
            assert sorted(self.router.position(e.entry_id) for e in entries) == list(range(1, len(entries) + 1))


TestRouter = RouterMachine.TestCase
TestRouter.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
