"""The port the ACD service writes to the shared line through (``IVR_ACD__SHARED=true``), and the
service's one typed place for the changes it sends there.

The service sits below the cluster link (:mod:`ivr.acd.cluster` imports the service, never the
reverse): the service sees the link only as a :class:`LineLink`, built before it and handed to its
constructor (:class:`ivr.acd.cluster.LineOutbox`). On one node there is no link and
:class:`SharedChanges` sends nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

from ivr.acd.line import LineAgent, LineResult, NewEntry
from ivr.acd.pgline import PgLine
from ivr.acd.types import AgentState, StateReason
from ivr.ports import HeldPlace

LineChange = Callable[[PgLine, datetime], Awaitable[LineResult]]


class LineLink(Protocol):
    """Where this node's changes go in shared mode: applied in order by the node's one writer."""

    owner: str

    def submit(self, what: str, change: LineChange, at: datetime) -> None:
        """Queue ``change`` (made at ``at``, the service's clock) for the shared line."""
        ...

    async def held_place(self, call_id: str) -> HeldPlace | None:
        """The place a caller sent on from a dead node still has in the shared line."""
        ...


async def _configured(done: Awaitable[None]) -> LineResult:
    await done
    return LineResult()


class SharedChanges:
    """Each change the service makes, submitted to the shared line as the same operation (nothing
    without a link). Arguments are copied here, so a change sent later sees the values of now."""

    def __init__(self, link: LineLink | None, clock: Callable[[], datetime]) -> None:
        self.link = link
        self.clock = clock

    @property
    def on(self) -> bool:
        return self.link is not None

    def _submit(self, what: str, change: LineChange) -> None:
        if self.link is not None:
            self.link.submit(what, change, self.clock())

    def queue(self, name: str, skills: Mapping[str, int]) -> None:
        skills = dict(skills)
        self._submit("queue", lambda line, at: _configured(line.configure({name: skills}, [], at=at)))

    def agent(self, agent: LineAgent) -> None:
        self._submit("agent", lambda line, at: _configured(line.configure({}, [agent], at=at)))

    def state(self, agent_id: str, state: AgentState, reason: StateReason) -> None:
        self._submit("state", lambda line, at: line.set_state(agent_id, state, at=at, reason=reason))

    def talking(self, agent_id: str) -> None:
        self._submit("talking", lambda line, at: line.mark_talking(agent_id, at=at))

    def extend_wrap_up(self, agent_id: str, seconds: float) -> None:
        self._submit("extend_wrap_up", lambda line, at: line.extend_wrap_up(agent_id, seconds, at=at))

    def join(self, entry: NewEntry) -> None:
        self._submit("join", lambda line, at: line.join(entry, at=at))

    def leave(self, entry_id: str) -> None:
        self._submit("leave", lambda line, at: line.leave(entry_id, at=at))

    def move(self, entry_id: str, queue: str) -> None:
        self._submit("move", lambda line, at: line.move(entry_id, queue, at=at))

    def wrap_up_over(self) -> None:
        """A wrap-up is over: the shared line ends it when it next routes; route now."""
        self._submit("wrap_up_over", lambda line, at: line.dispatch(at=at))

    def answered(self, entry_id: str) -> None:
        self._submit("answered", lambda line, at: line.answered(entry_id, at=at))

    def no_answer(self, entry_id: str, *, unreachable: bool) -> None:
        self._submit("no_answer", lambda line, at: line.no_answer(entry_id, at=at, unreachable=unreachable))

    def end_contact(self, agent_id: str, wrap_up_seconds: float) -> None:
        self._submit("end_contact",
                     lambda line, at: line.end_contact(agent_id, at=at, wrap_up_seconds=wrap_up_seconds))

    def take(self, entry_id: str) -> None:
        self._submit("take", lambda line, at: line.take(entry_id, at=at))

    def contact_answered(self, agent_id: str) -> None:
        self._submit("contact_answered", lambda line, at: line.contact_answered(agent_id, at=at))

    def drop_contact(self, agent_id: str, state: AgentState, reason: StateReason) -> None:
        self._submit("drop_contact", lambda line, at: line.drop_contact(agent_id, state, reason, at=at))
