"""The ACD service: owns the router inside the event loop, and the API other domains use (hold loop,
callbacks, admin API, AMI). The line itself - who waits, who is offered whom - is here; its parts
each in their own module: the agents (:mod:`ivr.acd.roster`), the estimates (:mod:`ivr.acd.estimates`)
and what they learn (:mod:`ivr.acd.learning`), the shared line's port (:mod:`ivr.acd.linelink`)
and its mirror (:mod:`ivr.acd.mirror`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import asyncpg

from ivr.acd.config import AgentConfig, ConfigError, OverflowKind, QueueConfig, parse_queue
from ivr.acd.estimates import Estimates, priors
from ivr.acd.ewt import Prediction, Priors, QueueRates
from ivr.acd.hold import HoldSession
from ivr.acd.holdcall import HoldDeps
from ivr.acd.learning import OnlineLearning
from ivr.acd.line import LineSnapshot, NewEntry
from ivr.acd.linelink import LineLink, SharedChanges
from ivr.acd.mirror import mirror_line, missed_offers
from ivr.acd.null import NullRecorder
from ivr.acd.queuebook import QueueBook
from ivr.acd.roster import AgentRoster, after_unanswered_leg
from ivr.acd.router import AgentChange, Router
from ivr.acd.store import AcdStore, QueueLive, WaitingSnapshot
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
from ivr.ports import CallbackPort, CallRecorder, DeflectionPort, HeldPlace, QueueOutcome, QueueRequest
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)


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
        link: LineLink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.recorder: CallRecorder = recorder or NullRecorder()
        self.prompts = prompts
        self.callbacks = callbacks
        self.deflection = deflection
        # the book is shared with the domains reading queue settings (ivr/acd/queuebook.py)
        self.queues = queues if isinstance(queues, QueueBook) else QueueBook(queues)
        self.bus = bus
        self.store = store
        self.clock = clock
        # Shared mode (IVR_ACD__SHARED): the router is a mirror; the shared line decides (ivr/acd/cluster.py).
        self.link = link
        self.router = Router()
        self.rates: dict[str, QueueRates] = {q.name: QueueRates(priors=priors(q)) for q in self.queues.configs()}
        self._waiters: dict[str, Waiter] = {}
        self._staffed_seen: dict[str, int] = {}
        self.live_dirty = True
        self.last_command_id = 0
        self.controls = CallControls()  # the bridges the desk may hold or transfer (ivr.callcontrol)
        for q in self.queues.configs():
            self.router.set_queue(q.name, q.skills)
        # The parts read the time through _now: the clock may be turned after construction (tests do).
        self.shared = SharedChanges(link, self._now)
        self.roster = AgentRoster(self.router, agents, bus=bus, shared=self.shared, clock=self._now)
        self.estimates = Estimates(self.router, self.rates, self.queues, self._now)
        # one node learns the rates online; several learn them from the shared contacts (sharedrates.py)
        self.learning = OnlineLearning(self.rates, enabled=link is None, clock=self._now)

    def _now(self) -> datetime:
        return self.clock()

    # ------------------------------------------------------------------ start-up
    async def load(self) -> None:
        """Store the configuration, then restore agent states and warm up the estimates."""
        if self.store is None:
            return
        await self.store.save_queues(self.queues.configs())
        for name, raw in (await self.store.queue_configs(source="api")).items():
            self._apply_queue(parse_queue(name, raw))  # an admin's edit outlives the file
        await self.store.save_agents(self.roster.configs.values())
        self.roster.restore(await self.store.agents(), shared=self.link is not None)
        await self.learning.warm_up(self.store)
        self.last_command_id = await self.store.last_command_id()

    def shared_priors(self) -> dict[str, Priors]:
        return self.estimates.queue_priors()

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
        self.rates.setdefault(cfg.name, QueueRates()).set_priors(priors(cfg))
        self.router.set_queue(cfg.name, cfg.skills)
        self.shared.queue(cfg.name, cfg.skills)
        self.live_dirty = True
        self.dispatch()

    def queue_names(self) -> list[str]:
        return self.queues.queue_names()

    # ------------------------------------------------------------------ agents (ivr/acd/roster.py)
    async def upsert_agent(self, cfg: AgentConfig) -> None:
        """Add an agent or change its name/endpoint/skills (admin API); its state is kept."""
        self.roster.upsert(cfg)
        if self.store is not None:
            await self.store.save_agents([cfg])
        self.dispatch()

    def agent(self, agent_id: str) -> AgentView:
        return self.roster.view(agent_id)

    def agents(self) -> list[AgentView]:
        return self.roster.views()

    def set_agent_state(self, agent_id: str, state: AgentState, *, reason: StateReason = StateReason.ADMIN) -> None:
        self.roster.set_state(agent_id, state, reason)
        self.dispatch()

    def wrap_up_until(self, agent_id: str) -> datetime | None:
        """When this agent's wrap-up ends by itself (None: not in wrap-up, or one without an end)."""
        return self.roster.wrap_up_until(agent_id)

    def extend_wrap_up(self, agent_id: str, seconds: float) -> datetime:
        return self.roster.extend_wrap_up(agent_id, seconds)

    def device_state(self, device: str, state: str) -> None:
        """An AMI DeviceStateChange for ``device`` (e.g. PJSIP/agent1)."""
        self.roster.device_state(device, state)
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
            self.shared.join(NewEntry(entry_id, queue, arrival, self.link.owner, priority + cfg.priority, kind,
                                      call_id))
        waiter = Waiter(entry_id, queue, kind, call_id, arrival, self.clock(), self.router.position(entry_id))
        waiter.priority = priority + cfg.priority
        self.learning.joined(queue, priority + cfg.priority)
        self._waiters[entry_id] = waiter
        self.live_dirty = True
        self.dispatch()
        return waiter

    def leave(self, waiter: Waiter) -> int | None:
        """Take the entry out of line (not served); returns its last position."""
        position = self.position_of(waiter.entry_id)
        self.router.leave(waiter.entry_id, at=self.clock())
        self.shared.leave(waiter.entry_id)
        self._waiters.pop(waiter.entry_id, None)
        self.live_dirty = True
        self.dispatch()
        return position

    def move(self, waiter: Waiter, queue: str) -> None:
        self.router.move(waiter.entry_id, queue)
        self.shared.move(waiter.entry_id, queue)
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
                self.shared.wrap_up_over()
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
        self.roster.publish(changes)

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

    # ------------------------------------------------------------------ offers' results
    def answered(self, waiter: Waiter, *, answered_at: datetime) -> float:
        """The offered agent took the call: returns how long the caller waited in line this time
        (from joining; a returning caller's credit is not part of it)."""
        self.router.answered(waiter.entry_id, at=self.clock())
        self.shared.answered(waiter.entry_id)
        self._waiters.pop(waiter.entry_id, None)
        waited = max((answered_at - waiter.joined_at).total_seconds(), 0.0)
        self.learning.answered(waiter, waited)
        self.live_dirty = True
        self.dispatch()
        return waited

    def no_answer(self, waiter: Waiter, status: DialStatus) -> None:
        unreachable = status is DialStatus.CHANUNAVAIL
        self.router.no_answer(waiter.entry_id, at=self.clock(), unreachable=unreachable)
        self.shared.no_answer(waiter.entry_id, unreachable=unreachable)
        waiter.assignment = None
        waiter.wake.clear()
        self.dispatch()

    def contact_ended(self, agent_id: str, queue: str, *, talk_seconds: float) -> float:
        """The answered contact is over: wrap-up; returns the handle time learnt."""
        cfg = self.queue_config(queue)
        self.router.end_contact(agent_id, at=self.clock(), wrap_up_seconds=cfg.wrap_up_seconds)
        self.shared.end_contact(agent_id, cfg.wrap_up_seconds)
        handle = talk_seconds + cfg.wrap_up_seconds
        self.learning.handled(queue, handle)
        self.dispatch()
        return handle

    def abandoned(self, waiter: Waiter) -> tuple[float, int | None]:
        position = self.leave(waiter)
        waited = max((self.clock() - waiter.joined_at).total_seconds(), 0.0)
        self.learning.abandoned(waiter, waited)
        return waited, position

    # ------------------------------------------------------------------ EWT (ivr/acd/estimates.py)
    def estimate(self, queue: str, *, ahead: int | None = None, priority: int | None = None) -> Prediction | None:
        return self.estimates.estimate(queue, ahead=ahead, priority=priority)

    def estimate_for(self, waiter: Waiter) -> Prediction | None:
        return self.estimates.estimate_for(waiter)

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
                self.shared.take(waiter.entry_id)
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
            self.shared.contact_answered(assignment.agent_id)
            self.contact_ended(assignment.agent_id, assignment.queue, talk_seconds=result.talk_seconds)
            return
        state, reason = after_unanswered_leg(result.status)
        self.router.drop_contact(assignment.agent_id, state, reason, at=now)
        self.shared.drop_contact(assignment.agent_id, state, reason)
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
        self.roster.publish(changes)

    def mirror(self, snapshot: LineSnapshot) -> None:
        """Take the shared line as it is (every node's callers, every agent's state)."""
        now = self.clock()
        for agent_id in mirror_line(self.router, snapshot):
            self.roster.changed(agent_id)
        unoffered = [entry_id for entry_id, waiter in self._waiters.items() if waiter.assignment is None]
        for offer in missed_offers(self.router, unoffered, at=now):  # their notification was missed
            self.offer_arrived(offer)
        self.live_dirty = True

    # ------------------------------------------------------------------ snapshots for persistence
    def tick(self) -> None:
        self.dispatch()

    def take_dirty_agents(self) -> list[AgentView]:
        return self.roster.take_changed()

    def live_snapshot(self) -> tuple[list[WaitingSnapshot], list[QueueLive]]:
        return self.estimates.live_snapshot(self._waiters)
