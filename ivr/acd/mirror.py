"""Shared mode (``IVR_ACD__SHARED=true``): this node's router becomes a mirror of the shared line
(every node's callers, every agent's state), so its own reads - positions, the EWT - count
everyone. The line alone decides offers (:mod:`ivr.acd.cluster`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime

from ivr.acd.line import LineSnapshot
from ivr.acd.router import Router, RouterEntry
from ivr.acd.types import AgentAssignment


def mirror_line(router: Router, snapshot: LineSnapshot) -> set[str]:
    """Take the shared line as it is; returns the agents whose state changed here."""
    entries: dict[str, RouterEntry] = {}
    for e in snapshot.entries:
        entries[e.entry_id] = RouterEntry(e.entry_id, e.queue, e.kind, e.arrival, e.priority, e.seq, e.agent_id)
    router.entries = entries
    router._seq = itertools.count(max((e.seq for e in snapshot.entries), default=0) + 1)
    changed: set[str] = set()
    for a in snapshot.agents:
        agent = router.agents.get(a.agent_id)
        if agent is None:
            continue
        if (agent.state, agent.reason, agent.contact) != (a.state, a.reason, a.contact):
            changed.add(a.agent_id)
        agent.state, agent.reason, agent.since, agent.contact = a.state, a.reason, a.since, a.contact
        agent.pending, agent.wrap_up_until = None, a.wrap_up_until
    return changed


def missed_offers(router: Router, waiting: Iterable[str], *, at: datetime) -> list[AgentAssignment]:
    """Offers the mirrored line made to entries of this node (``waiting``: those without an offer
    yet) whose notification never came. Each entry is put back unoffered, for the service to take
    the offer as if notified."""
    missed: list[AgentAssignment] = []
    for entry_id in waiting:
        entry = router.entries.get(entry_id)
        if entry is None or entry.agent_id is None:
            continue
        agent = router.agents.get(entry.agent_id)
        if agent is not None:
            entry.agent_id = None
            missed.append(AgentAssignment(entry_id, agent.agent_id, agent.endpoint, entry.queue, at, entry.arrival))
    return missed
