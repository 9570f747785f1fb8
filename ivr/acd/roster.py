"""The agents of the ACD: their configuration, their routing state as the API shows it, every
change to a state (admin, desk, AMI device, commands, a restart) and which ones the store has not
saved yet. Routing after a change is the service's (:meth:`ivr.acd.service.AcdService.dispatch`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from ivr.acd.config import AgentConfig
from ivr.acd.devices import device_target
from ivr.acd.line import LineAgent
from ivr.acd.linelink import SharedChanges
from ivr.acd.router import AgentChange, Router, RouterAgent
from ivr.acd.types import AgentState, AgentView, StateReason, UnknownAgent
from ivr.channel import DialStatus
from ivr.events import EventBus
from ivr.events.types import AgentStateChanged

log = logging.getLogger(__name__)

# What an agent leg that was not answered (a callback's) leaves the agent in; other ends of a
# contact not answered (CANCEL, CONGESTION) are not the agent's doing: available again.
_AFTER_UNANSWERED_LEG = {
    DialStatus.NOANSWER: (AgentState.AWAY, StateReason.NO_ANSWER),
    DialStatus.BUSY: (AgentState.AWAY, StateReason.NO_ANSWER),
    DialStatus.CHANUNAVAIL: (AgentState.OFFLINE, StateReason.UNREACHABLE),
}


def after_unanswered_leg(status: DialStatus) -> tuple[AgentState, StateReason]:
    return _AFTER_UNANSWERED_LEG.get(status, (AgentState.AVAILABLE, StateReason.CONTACT))


class AgentRoster:
    def __init__(self, router: Router, agents: dict[str, AgentConfig], *, bus: EventBus, shared: SharedChanges,
                 clock: Callable[[], datetime]) -> None:
        self.router = router
        self.configs = dict(agents)
        self.bus = bus
        self.shared = shared
        self.clock = clock
        self._dirty: set[str] = set()  # changed since the store last saved them
        now = clock()
        for a in agents.values():
            router.upsert_agent(a.agent_id, a.endpoint, a.skills, at=now)

    # ------------------------------------------------------------------ reads
    def get(self, agent_id: str) -> RouterAgent:
        try:
            return self.router.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def view(self, agent_id: str) -> AgentView:
        a = self.get(agent_id)
        cfg = self.configs[agent_id]
        return AgentView(a.agent_id, cfg.name, a.endpoint, dict(a.skills), a.state, a.since, a.reason)

    def views(self) -> list[AgentView]:
        return [self.view(aid) for aid in sorted(self.router.agents)]

    def wrap_up_until(self, agent_id: str) -> datetime | None:
        return self.get(agent_id).wrap_up_until

    # ------------------------------------------------------------------ changes
    def upsert(self, cfg: AgentConfig) -> None:
        """Add an agent or change its name/endpoint/skills; its state is kept."""
        self.configs[cfg.agent_id] = cfg
        self.router.upsert_agent(cfg.agent_id, cfg.endpoint, cfg.skills, at=self.clock())
        self.shared.agent(LineAgent(cfg.agent_id, cfg.endpoint, dict(cfg.skills)))

    def set_state(self, agent_id: str, state: AgentState, reason: StateReason) -> None:
        self.get(agent_id)
        self.router.set_state(agent_id, state, at=self.clock(), reason=reason)
        self.shared.state(agent_id, state, reason)

    def extend_wrap_up(self, agent_id: str, seconds: float) -> datetime:
        self.get(agent_id)
        until = self.router.extend_wrap_up(agent_id, seconds, at=self.clock())
        self.shared.extend_wrap_up(agent_id, seconds)
        return until

    def device_state(self, device: str, state: str) -> None:
        """An AMI DeviceStateChange for ``device`` (e.g. PJSIP/agent1)."""
        wanted = device.strip().lower()
        for agent in self.router.agents.values():
            if agent.endpoint.lower() != wanted:
                continue
            if agent.contact is not None and state.strip().upper() == "INUSE":
                self.router.mark_talking(agent.agent_id, at=self.clock())
                self.shared.talking(agent.agent_id)
                continue
            target = device_target(agent.state, agent.reason, has_contact=agent.contact is not None,
                                   device_state=state)
            if target is not None:
                self.router.set_state(agent.agent_id, target[0], at=self.clock(), reason=target[1])
                self.shared.state(agent.agent_id, target[0], target[1])

    def restore(self, stored: Iterable[AgentView], *, shared: bool) -> None:
        """The states the store kept from before this process (start-up)."""
        released = 0
        for view in stored:
            self.configs.setdefault(view.agent_id, AgentConfig(view.agent_id, view.name, view.endpoint, view.skills))
            self.router.upsert_agent(view.agent_id, view.endpoint, view.skills, at=view.state_since,
                                     state=view.state, reason=view.reason)
            agent = self.router.agents[view.agent_id]
            # An offer or a contact (and its wrap-up timer) cannot survive a restart: the caller it
            # was for went with the dead process. Those agents come back available, where they were
            # before the offer (only available agents are offered), and the stored state says so at
            # once (marked dirty), so no supervisor sees an agent ringing for a call that is gone.
            # (Shared: other nodes' offers are live; the line's reaper frees a dead node's.)
            if not shared and (view.reason in (StateReason.OFFER, StateReason.CONTACT)
                               or view.state is AgentState.RINGING):
                agent.state, agent.reason = AgentState.AVAILABLE, StateReason.ADMIN
                self._dirty.add(view.agent_id)
                released += 1
            else:
                agent.state, agent.reason, agent.since = view.state, view.reason, view.state_since
        if released:
            log.warning("agents released from offers/contacts of a previous process",
                        extra={"agents_released": released})

    # ------------------------------------------------------------------ what changed
    def publish(self, changes: Sequence[AgentChange]) -> None:
        """The router's (or the shared line's) agent changes: to the bus once, and to be saved."""
        for c in changes:
            self._dirty.add(c.agent_id)
            self.bus.publish(AgentStateChanged(agent_id=c.agent_id, state=c.state.value, previous=c.previous.value,
                                               reason=c.reason.value, at=c.at))

    def changed(self, agent_id: str) -> None:
        """Changed without an event (the shared line's mirror): to be saved all the same."""
        self._dirty.add(agent_id)

    def take_changed(self) -> list[AgentView]:
        dirty, self._dirty = self._dirty, set()
        return [self.view(aid) for aid in sorted(dirty) if aid in self.router.agents]
