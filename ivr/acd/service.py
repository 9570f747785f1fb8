"""The ACD service: owns the router inside the event loop, the EWT estimates, agent state changes
from every source, and the API other domains use (hold loop, callbacks, admin API, AMI)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

import asyncpg

from ivr.acd.config import AgentConfig, ConfigError, OverflowKind, QueueConfig, parse_queue
from ivr.acd.devices import device_target
from ivr.acd.ewt import Prediction, Priors, QueueRates, predict
from ivr.acd.hold import HoldDeps, HoldSession
from ivr.acd.line import LineAgent, LineResult, LineSnapshot, NewEntry
from ivr.acd.null import NullRecorder
from ivr.acd.pgline import PgLine
from ivr.acd.queuebook import QueueBook
from ivr.acd.router import AgentChange, Router, RouterAgent, RouterEntry
from ivr.acd.sharedrates import learn_contact
from ivr.acd.store import AcdStore, ContactRecord, QueueLive, WaitingSnapshot
from ivr.acd.types import (
    AgentAssignment,
    AgentState,
    AgentView,
    CallbackEntry,
    EntryKind,
    InvalidTransition,
    StateReason,
    UnknownAgent,
    Waiter,
)
from ivr.callcontrol import CallControls
from ivr.channel import Channel, ConnectResult, DialStatus
from ivr.db import utcnow
from ivr.events import EventBus
from ivr.events.types import AgentStateChanged
from ivr.ports import CallbackPort, CallRecorder, DeflectionPort, HeldPlace, QueueOutcome, QueueRequest
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)

LineChange = Callable[[PgLine, datetime], Awaitable[LineResult]]


class LineLink(Protocol):
    """Where this node's changes go in shared mode (:class:`ivr.acd.cluster.ClusterLink`, which
    depends on this service, not the other way round): applied in order by the node's one writer."""

    owner: str

    def submit(self, what: str, change: LineChange) -> None: ...

    async def held_place(self, call_id: str) -> HeldPlace | None:
        """The place a caller sent on from a dead node still has in the shared line."""
        ...


async def _configured(done: Awaitable[None]) -> LineResult:
    await done
    return LineResult()



def _priors(cfg: QueueConfig) -> Priors:
    return Priors(handle_seconds=cfg.expected_handle_seconds, patience_seconds=cfg.expected_patience_seconds)


class AcdService:
    def __init__(
        self,
        *,
        queues: dict[str, QueueConfig] | QueueBook,
        agents: dict[str, AgentConfig],
        bus: EventBus,
        store: AcdStore | None = None,
        recorder: CallRecorder | None = None,
        prompts: PromptCatalogue | None = None,
        callbacks: CallbackPort | None = None,
        deflection: DeflectionPort | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.recorder: CallRecorder = recorder or NullRecorder()
        self.prompts = prompts
        self.callbacks = callbacks
        self.deflection = deflection
        # the book is shared with the domains reading queue settings (ivr/acd/queuebook.py)
        self.queues = queues if isinstance(queues, QueueBook) else QueueBook(queues)
        self._agent_configs = dict(agents)
        self.bus = bus
        self.store = store
        self.clock = clock
        self.router = Router()
        self.rates: dict[str, QueueRates] = {q.name: QueueRates(priors=_priors(q)) for q in self.queues.configs()}
        self._waiters: dict[str, Waiter] = {}
        self._dirty_agents: set[str] = set()
        self._staffed_seen: dict[str, int] = {}
        self.live_dirty = True
        self.last_command_id = 0
        # Shared mode (IVR_ACD__SHARED): the router is a mirror; the shared line decides (ivr/acd/cluster.py).
        self.link: LineLink | None = None
        self.controls = CallControls()  # the bridges the desk may hold or transfer (ivr.callcontrol)
        now = clock()
        for q in self.queues.configs():
            self.router.set_queue(q.name, q.skills)
        for a in agents.values():
            self.router.upsert_agent(a.agent_id, a.endpoint, a.skills, at=now)

    # ------------------------------------------------------------------ start-up
    async def load(self) -> None:
        """Store the configuration, then restore agent states and warm up the estimates."""
        if self.store is None:
            return
        await self.store.save_queues(self.queues.configs())
        for name, raw in (await self.store.queue_configs(source="api")).items():
            self._apply_queue(parse_queue(name, raw))  # an admin's edit outlives the file
        await self.store.save_agents(self._agent_configs.values())
        released = 0
        for view in await self.store.agents():
            self._agent_configs.setdefault(view.agent_id, AgentConfig(view.agent_id, view.name, view.endpoint,
                                                                      view.skills))
            self.router.upsert_agent(view.agent_id, view.endpoint, view.skills, at=view.state_since,
                                     state=view.state, reason=view.reason)
            agent = self.router.agents[view.agent_id]
            # An offer or a contact (and its wrap-up timer) cannot survive a restart: the caller it
            # was for went with the dead process. Those agents come back available, where they were
            # before the offer (only available agents are offered), and the stored state says so at
            # once (marked dirty), so no supervisor sees an agent ringing for a call that is gone.
            # (Shared: other nodes' offers are live; the line's reaper frees a dead node's.)
            if self.link is None and (view.reason in (StateReason.OFFER, StateReason.CONTACT)
                                      or view.state is AgentState.RINGING):
                agent.state, agent.reason = AgentState.AVAILABLE, StateReason.ADMIN
                self._dirty_agents.add(view.agent_id)
                released += 1
            else:
                agent.state, agent.reason, agent.since = view.state, view.reason, view.state_since
        if released:
            log.warning("agents released from offers/contacts of a previous process",
                        extra={"agents_released": released})
        if self.link is not None:  # shared: the rates come from every node's contacts (sharedrates.py)
            self.last_command_id = await self.store.last_command_id()
            return
        for name, rates in self.rates.items():
            for c in await self.store.recent_contacts(name, limit=1000):
                self._learn(rates, c)
            for ahead, servers, model, actual in await self.store.recent_outcomes(name):
                rates.correction.learn(ahead, servers, model, actual)
        self.last_command_id = await self.store.last_command_id()

    @staticmethod
    def _learn(rates: QueueRates, c: ContactRecord) -> None:
        learn_contact(rates, c)

    def shared_priors(self) -> dict[str, Priors]:
        return {cfg.name: _priors(cfg) for cfg in self.queues.configs()}

    @property
    def _learning(self) -> bool:
        """One node learns the EWT's rates online; on several, every node learns them from the
        shared contacts alone (ivr/acd/sharedrates.py), so that all nodes hold the same ones."""
        return self.link is None

    # ------------------------------------------------------------------ QueueService
    async def wait_in_queue(self, channel: Channel, request: QueueRequest) -> QueueOutcome:
        """The hold loop (see :mod:`ivr.acd.hold`), until the caller is connected or leaves."""
        deps = HoldDeps(self, self.store, self.recorder, self.prompts, self.callbacks, self.deflection,
                        controls=self.controls)
        return await HoldSession(deps, channel, request).run()

    # ------------------------------------------------------------------ configuration
    def queue_config(self, name: str) -> QueueConfig:
        return self.queues.queue_config(name)

    async def update_queue(self, cfg: QueueConfig) -> None:
        """An admin's change (API): applied at once, stored, and kept over ``queues.yaml``."""
        if cfg.overflow.kind is OverflowKind.QUEUE and cfg.overflow.target not in self.queues:
            raise ConfigError(f"queue {cfg.name}: overflow to unknown queue {cfg.overflow.target!r}")
        self._apply_queue(cfg)
        if self.store is not None:
            await self.store.save_queues([cfg], source="api")

    def _apply_queue(self, cfg: QueueConfig) -> None:
        self.queues.put(cfg)
        self.rates.setdefault(cfg.name, QueueRates()).set_priors(_priors(cfg))
        self.router.set_queue(cfg.name, cfg.skills)
        if self.link is not None:
            skills = dict(cfg.skills)
            self.link.submit("queue", lambda line, at: _configured(line.configure({cfg.name: skills}, [], at=at)))
        self.live_dirty = True
        self.dispatch()

    def queue_names(self) -> list[str]:
        return self.queues.queue_names()

    async def upsert_agent(self, cfg: AgentConfig) -> None:
        """Add an agent or change its name/endpoint/skills (admin API); its state is kept."""
        self._agent_configs[cfg.agent_id] = cfg
        self.router.upsert_agent(cfg.agent_id, cfg.endpoint, cfg.skills, at=self.clock())
        if self.link is not None:
            agent = LineAgent(cfg.agent_id, cfg.endpoint, dict(cfg.skills))
            self.link.submit("agent", lambda line, at: _configured(line.configure({}, [agent], at=at)))
        if self.store is not None:
            await self.store.save_agents([cfg])
        self.dispatch()

    def agent(self, agent_id: str) -> AgentView:
        a = self._router_agent(agent_id)
        cfg = self._agent_configs[agent_id]
        return AgentView(a.agent_id, cfg.name, a.endpoint, dict(a.skills), a.state, a.since, a.reason)

    def agents(self) -> list[AgentView]:
        return [self.agent(aid) for aid in sorted(self.router.agents)]

    def _router_agent(self, agent_id: str) -> RouterAgent:
        try:
            return self.router.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    # ------------------------------------------------------------------ agent state
    def set_agent_state(self, agent_id: str, state: AgentState, *, reason: StateReason = StateReason.ADMIN) -> None:
        self._router_agent(agent_id)
        self.router.set_state(agent_id, state, at=self.clock(), reason=reason)
        self._share_state(agent_id, state, reason)
        self.dispatch()

    def _share_state(self, agent_id: str, state: AgentState, reason: StateReason) -> None:
        if self.link is not None:
            self.link.submit("state", lambda line, at: line.set_state(agent_id, state, at=at, reason=reason))

    def _share_talking(self, agent_id: str) -> None:
        if self.link is not None:
            self.link.submit("talking", lambda line, at: line.mark_talking(agent_id, at=at))

    def wrap_up_until(self, agent_id: str) -> datetime | None:
        """When this agent's wrap-up ends by itself (None: not in wrap-up, or one without an end)."""
        return self._router_agent(agent_id).wrap_up_until

    def extend_wrap_up(self, agent_id: str, seconds: float) -> datetime:
        self._router_agent(agent_id)
        until = self.router.extend_wrap_up(agent_id, seconds, at=self.clock())
        if self.link is not None:
            self.link.submit("extend_wrap_up", lambda line, at: line.extend_wrap_up(agent_id, seconds, at=at))
        return until

    def device_state(self, device: str, state: str) -> None:
        """An AMI DeviceStateChange for ``device`` (e.g. PJSIP/agent1)."""
        wanted = device.strip().lower()
        for agent in self.router.agents.values():
            if agent.endpoint.lower() != wanted:
                continue
            if agent.contact is not None and state.strip().upper() == "INUSE":
                self.router.mark_talking(agent.agent_id, at=self.clock())
                self._share_talking(agent.agent_id)
                continue
            target = device_target(agent.state, agent.reason, has_contact=agent.contact is not None,
                                   device_state=state)
            if target is not None:
                self.router.set_state(agent.agent_id, target[0], at=self.clock(), reason=target[1])
                self._share_state(agent.agent_id, target[0], target[1])
        self.dispatch()

    def apply_commands(self, commands: list[tuple[int, str, AgentState]]) -> None:
        for command_id, agent_id, state in commands:
            self.last_command_id = max(self.last_command_id, command_id)
            try:
                self.set_agent_state(agent_id, state)
            except (UnknownAgent, ValueError) as exc:
                log.warning("agent command ignored", extra={"command_id": command_id, "error": str(exc)})

    # ------------------------------------------------------------------ the line
    def join(self, queue: str, *, arrival: datetime, priority: int, kind: EntryKind, call_id: str | None,
             entry_id: str | None = None, for_agent: str | None = None) -> Waiter:
        """``for_agent``: a transfer to that agent (one node only: the shared line routes by queue)."""
        cfg = self.queue_config(queue)
        if for_agent is not None and self.link is not None:
            raise InvalidTransition("a transfer to a named agent needs one node (IVR_ACD__SHARED=false)")
        entry_id = entry_id or uuid.uuid4().hex
        self.router.join(entry_id, queue, arrival=arrival, priority=priority + cfg.priority, kind=kind,
                         for_agent=for_agent)
        if self.link is not None:
            entry = NewEntry(entry_id, queue, arrival, self.link.owner, priority + cfg.priority, kind, call_id)
            self.link.submit("join", lambda line, at: line.join(entry, at=at))
        waiter = Waiter(entry_id, queue, kind, call_id, arrival, self.clock(), self.router.position(entry_id))
        waiter.priority = priority + cfg.priority
        if self._learning:  # overtaking: how often callers of each priority arrive (a callback overtakes like a call)
            self.rates[queue].record_arrival(self.clock().timestamp(), priority + cfg.priority)
        self._waiters[entry_id] = waiter
        self.live_dirty = True
        self.dispatch()
        return waiter

    def leave(self, waiter: Waiter) -> int | None:
        """Take the entry out of line (not served); returns its last position."""
        position = self.position_of(waiter.entry_id)
        self.router.leave(waiter.entry_id, at=self.clock())
        if self.link is not None:
            entry_id = waiter.entry_id
            self.link.submit("leave", lambda line, at: line.leave(entry_id, at=at))
        self._waiters.pop(waiter.entry_id, None)
        self.live_dirty = True
        self.dispatch()
        return position

    def move(self, waiter: Waiter, queue: str) -> None:
        self.router.move(waiter.entry_id, queue)
        if self.link is not None:
            entry_id = waiter.entry_id
            self.link.submit("move", lambda line, at: line.move(entry_id, queue, at=at))
        waiter.queue = queue
        self.live_dirty = True
        self.dispatch()

    def in_line(self, entry_id: str) -> bool:
        """Whether the entry is still in line (waiting, or offered an agent not yet answered)."""
        return entry_id in self.router.entries

    def position_of(self, entry_id: str) -> int | None:
        return self.router.position(entry_id) if entry_id in self.router.entries else None

    def dispatch(self) -> None:
        """Route what can be routed, wake the owners of new offers, publish agent changes."""
        if self.link is not None:  # the shared line routes; its changes are published as they come
            now = self.clock()
            if any(a.wrap_up_until is not None and a.wrap_up_until <= now for a in self.router.agents.values()):
                # a wrap-up is over: the shared line ends it when it next routes; route now
                self.link.submit("wrap_up_over", lambda line, at: line.dispatch(at=at))
            self.router.tick(now)
            self.router.drain_changes()
            return
        for offer in self.router.dispatch(self.clock()):
            waiter = self._waiters.get(offer.entry_id)
            if waiter is None:  # cannot happen: every entry has a waiter; keep the line moving
                log.error("offer for an entry nobody waits on", extra={"entry_id": offer.entry_id})
                self.router.leave(offer.entry_id, at=self.clock())
                continue
            waiter.assignment = offer
            waiter.wake.set()
            self.live_dirty = True
        changes = self.router.drain_changes()
        if changes:
            self._wake_on_staffing()
        self._publish_changes(changes)

    def _wake_on_staffing(self) -> None:
        """A queue's staffing changed: its callers' estimate moved, and if the last agent went away
        they must hear it within seconds, not at the next announcement (the hold loop looks at
        :meth:`staffed` and the estimate when woken without an offer)."""
        staffed: dict[str, int] = {}
        for waiter in self._waiters.values():
            if waiter.assignment is not None:
                continue
            if waiter.queue not in staffed:
                staffed[waiter.queue] = self.router.staffed(waiter.queue)
            if staffed[waiter.queue] != self._staffed_seen.get(waiter.queue):
                waiter.wake.set()
        self._staffed_seen.update(staffed)

    def _publish_changes(self, changes: list[AgentChange]) -> None:
        for c in changes:
            self._dirty_agents.add(c.agent_id)
            self.bus.publish(AgentStateChanged(agent_id=c.agent_id, state=c.state.value, previous=c.previous.value,
                                               reason=c.reason.value, at=c.at))

    # ------------------------------------------------------------------ offers' results
    def answered(self, waiter: Waiter, *, answered_at: datetime) -> float:
        """The offered agent took the call: returns how long the caller waited in line this time
        (from joining; a returning caller's credit is not part of it)."""
        self.router.answered(waiter.entry_id, at=self.clock())
        if self.link is not None:
            entry_id = waiter.entry_id
            self.link.submit("answered", lambda line, at: line.answered(entry_id, at=at))
        self._waiters.pop(waiter.entry_id, None)
        waited = max((answered_at - waiter.joined_at).total_seconds(), 0.0)
        rates = self.rates[waiter.queue]
        if self._learning:
            rates.record_entered_service(waited)
        if waiter.kind is EntryKind.CALL and self._learning:
            rates.record_exit(waited, abandoned=False, now=self.clock().timestamp())
            if waiter.model_at_join is not None:  # what followed the model's first estimate
                ahead, servers, model = waiter.model_at_join
                rates.correction.learn(ahead, servers, model, waited)
        self.live_dirty = True
        self.dispatch()
        return waited

    def no_answer(self, waiter: Waiter, status: DialStatus) -> None:
        unreachable = status is DialStatus.CHANUNAVAIL
        self.router.no_answer(waiter.entry_id, at=self.clock(), unreachable=unreachable)
        if self.link is not None:
            entry_id = waiter.entry_id
            self.link.submit("no_answer", lambda line, at: line.no_answer(entry_id, at=at, unreachable=unreachable))
        waiter.assignment = None
        waiter.wake.clear()
        self.dispatch()

    def contact_ended(self, agent_id: str, queue: str, *, talk_seconds: float) -> float:
        """The answered contact is over: wrap-up; returns the handle time learnt."""
        cfg = self.queue_config(queue)
        self.router.end_contact(agent_id, at=self.clock(), wrap_up_seconds=cfg.wrap_up_seconds)
        if self.link is not None:
            wrap = cfg.wrap_up_seconds
            self.link.submit("end_contact", lambda line, at: line.end_contact(agent_id, at=at, wrap_up_seconds=wrap))
        handle = talk_seconds + cfg.wrap_up_seconds
        if self._learning:
            self.rates[queue].record_service(handle, self.clock().timestamp())
        self.dispatch()
        return handle

    def abandoned(self, waiter: Waiter) -> tuple[float, int | None]:
        position = self.leave(waiter)
        waited = max((self.clock() - waiter.joined_at).total_seconds(), 0.0)
        if waiter.kind is EntryKind.CALL and self._learning:
            self.rates[waiter.queue].record_exit(waited, abandoned=True, now=self.clock().timestamp())
        return waited, position

    # ------------------------------------------------------------------ EWT
    def estimate(self, queue: str, *, ahead: int | None = None, priority: int | None = None) -> Prediction | None:
        """EWT for a caller with ``ahead`` callers in front (default: one joining now with the
        queue's own priority) who can be overtaken by later arrivals above ``priority``."""
        cfg = self.queue_config(queue)
        line = [e for e in self.router.in_queue(queue) if e.agent_id is None]
        if ahead is None:
            ahead = len(line)
        if priority is None:
            priority = cfg.priority
        free = any(a.state is AgentState.AVAILABLE and a.contact is None for a in self.router.qualified_agents(queue))
        in_front = line[:ahead]
        # callbacks ahead keep their place and never hang up: only calls ahead can abandon
        share = sum(e.kind is EntryKind.CALL for e in in_front) / len(in_front) if in_front else 1.0
        return predict(ahead=ahead, servers=self.router.staffed(queue), free_agent=free, rates=self.rates[queue],
                       priority=priority, now=self.clock().timestamp(), abandoning_share=share)

    def estimate_for(self, waiter: Waiter) -> Prediction | None:
        if waiter.assignment is not None:
            return None
        entry = self.router.entries.get(waiter.entry_id)
        if entry is None:
            return None
        line = [e for e in self.router.in_queue(waiter.queue) if e.agent_id is None]
        ahead = sum(1 for e in line if e.key < entry.key)
        prediction = self.estimate(waiter.queue, ahead=ahead, priority=entry.priority)
        if waiter.model_at_join is None and prediction is not None and prediction.model_seconds is not None:
            waiter.model_at_join = (ahead, self.staffed(waiter.queue), prediction.model_seconds)
        return prediction

    def staffed(self, queue: str) -> int:
        return self.router.staffed(queue)

    # ------------------------------------------------------------------ callbacks (virtual entries)
    async def wait_for_agent(self, entry: CallbackEntry, timeout: float) -> AgentAssignment | None:
        """Put a callback in line at its caller's arrival time; return the agent routed to it (kept
        reserved until :meth:`finish_assignment`), or None after ``timeout`` seconds."""
        waiter = self.join(entry.queue, arrival=entry.arrival_time, priority=entry.priority,
                           kind=EntryKind.CALLBACK, call_id=None, entry_id=f"callback:{entry.callback_id}")
        try:
            async with asyncio.timeout(timeout):
                await waiter.wake.wait()
        except TimeoutError:
            pass
        finally:
            assignment = waiter.assignment
            if assignment is not None:
                self.router.take(waiter.entry_id, at=self.clock())
                if self.link is not None:
                    taken = waiter.entry_id
                    self.link.submit("take", lambda line, at: line.take(taken, at=at))
                self._waiters.pop(waiter.entry_id, None)
                self.live_dirty = True
            else:
                self.leave(waiter)
        return assignment

    async def finish_assignment(self, assignment: AgentAssignment, result: ConnectResult) -> None:
        """The callback's contact is over. ``result`` is the agent leg: ANSWER (talked; wrap-up
        follows), NOANSWER/BUSY (agent away), CHANUNAVAIL (agent offline), CANCEL/CONGESTION (the
        contact ended before the agent answered for reasons not theirs: agent available)."""
        now = self.clock()
        if result.status is DialStatus.ANSWER:
            self.router.contact_answered(assignment.agent_id, at=now)
            if self.link is not None:
                agent_id = assignment.agent_id
                self.link.submit("contact_answered", lambda line, at: line.contact_answered(agent_id, at=at))
            self.contact_ended(assignment.agent_id, assignment.queue, talk_seconds=result.talk_seconds)
            return
        state, reason = {
            DialStatus.NOANSWER: (AgentState.AWAY, StateReason.NO_ANSWER),
            DialStatus.BUSY: (AgentState.AWAY, StateReason.NO_ANSWER),
            DialStatus.CHANUNAVAIL: (AgentState.OFFLINE, StateReason.UNREACHABLE),
        }.get(result.status, (AgentState.AVAILABLE, StateReason.CONTACT))
        self.router.drop_contact(assignment.agent_id, state, reason, at=now)
        if self.link is not None:
            dropped = assignment.agent_id
            self.link.submit("drop_contact", lambda line, at: line.drop_contact(dropped, state, reason, at=at))
        self.dispatch()

    # ------------------------------------------------------------------ shared mode (ivr/acd/cluster.py)
    async def held_place(self, call_id: str) -> HeldPlace | None:
        """The place a caller sent on from a dead node still has in the shared line (one node: none,
        its line died with the process). The priority returned is on top of the queue's own."""
        if self.link is None:
            return None
        try:
            place = await self.link.held_place(call_id)
        except (OSError, asyncpg.PostgresError):
            log.exception("shared line: cannot look for a held place; the caller starts again")
            return None
        if place is None or place.queue not in self.queues:
            return None
        return replace(place, priority=place.priority - self.queue_config(place.queue).priority)

    def offer_arrived(self, offer: AgentAssignment) -> None:
        """The shared line offered an agent to one of this node's entries."""
        waiter = self._waiters.get(offer.entry_id)
        if waiter is None or waiter.assignment is not None:  # gone meanwhile (its leave frees the agent), or known
            return
        entry = self.router.entries.get(offer.entry_id)
        agent = self.router.agents.get(offer.agent_id)
        if entry is not None and agent is not None:
            entry.agent_id, agent.contact = offer.agent_id, offer.entry_id
            agent.state, agent.reason, agent.since = AgentState.RINGING, StateReason.OFFER, offer.offered_at
        waiter.assignment = offer
        waiter.wake.set()
        self.live_dirty = True

    def shared_changes(self, changes: list[AgentChange]) -> None:
        """Agent changes the shared line made for this node's changes: published once, here."""
        self._publish_changes(changes)

    def mirror(self, snapshot: LineSnapshot) -> None:
        """Take the shared line as it is (every node's callers, every agent's state)."""
        now = self.clock()
        entries: dict[str, RouterEntry] = {}
        for e in snapshot.entries:
            entries[e.entry_id] = RouterEntry(e.entry_id, e.queue, e.kind, e.arrival, e.priority, e.seq, e.agent_id)
        self.router.entries = entries
        self.router._seq = itertools.count(max((e.seq for e in snapshot.entries), default=0) + 1)
        for a in snapshot.agents:
            agent = self.router.agents.get(a.agent_id)
            if agent is None:
                continue
            if (agent.state, agent.reason, agent.contact) != (a.state, a.reason, a.contact):
                self._dirty_agents.add(a.agent_id)
            agent.state, agent.reason, agent.since, agent.contact = a.state, a.reason, a.since, a.contact
            agent.pending, agent.wrap_up_until = None, a.wrap_up_until
        for entry_id, waiter in self._waiters.items():  # an offer whose notification was missed
            entry = entries.get(entry_id)
            if entry is not None and entry.agent_id is not None and waiter.assignment is None:
                agent = self.router.agents.get(entry.agent_id)
                if agent is not None:
                    entry.agent_id = None
                    self.offer_arrived(AgentAssignment(entry_id, agent.agent_id, agent.endpoint, entry.queue, now,
                                                       entry.arrival))
        self.live_dirty = True

    # ------------------------------------------------------------------ snapshots for persistence
    def tick(self) -> None:
        self.dispatch()

    def take_dirty_agents(self) -> list[AgentView]:
        dirty, self._dirty_agents = self._dirty_agents, set()
        return [self.agent(aid) for aid in sorted(dirty) if aid in self.router.agents]

    def live_snapshot(self) -> tuple[list[WaitingSnapshot], list[QueueLive]]:
        waiting: list[WaitingSnapshot] = []
        live: list[QueueLive] = []
        for name in self.queue_names():
            for position, entry in enumerate(self.router.in_queue(name), start=1):
                waiter = self._waiters.get(entry.entry_id)
                ewt = self.estimate(name, ahead=position - 1, priority=entry.priority) \
                    if entry.agent_id is None else None
                waiting.append(WaitingSnapshot(entry.entry_id, name, entry.kind.value,
                                               waiter.call_id if waiter else None, entry.arrival, entry.priority,
                                               position, ewt.seconds if ewt else None, entry.agent_id))
            rates = self.rates[name]
            joining = self.estimate(name)
            live.append(QueueLive(name, self.staffed(name), joining.seconds if joining else None,
                                  rates.mean_handle, rates.theta))
        return waiting, live
