"""One caller on hold: what the hold loop needs from the ACD (:class:`WaitingLine`), the
collaborators it is given (:class:`HoldDeps`) and the caller's own state (:class:`HoldCall`), which
the loop (:mod:`ivr.acd.hold`), its announcements and keys (:mod:`ivr.acd.holdannounce`), the
agent's leg (:mod:`ivr.acd.holdconnect`) and the exits (:mod:`ivr.acd.holdexit`) share."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ivr.acd.config import QueueConfig
from ivr.acd.ewt import Prediction
from ivr.acd.store import AcdStore, AnnouncedBand
from ivr.acd.types import EntryKind, Waiter
from ivr.callcontrol import CallControls
from ivr.channel import Channel, DialStatus, PromptFile
from ivr.events import EventBus
from ivr.ports import CallbackPort, CallRecorder, DeflectionPort, QueueRequest
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)


class WaitingLine(Protocol):
    """What the hold loop needs from the ACD (:class:`ivr.acd.service.AcdService`, which runs the
    loop for the flow engine: the service depends on the hold modules, they only on this port)."""

    bus: EventBus
    clock: Callable[[], datetime]

    def queue_config(self, name: str) -> QueueConfig: ...

    def staffed(self, queue: str) -> int: ...

    def join(self, queue: str, *, arrival: datetime, priority: int, kind: EntryKind, call_id: str | None,
             entry_id: str | None = None, for_agent: str | None = None) -> Waiter: ...

    def in_line(self, entry_id: str) -> bool: ...

    def position_of(self, entry_id: str) -> int | None: ...

    def estimate_for(self, waiter: Waiter) -> Prediction | None: ...

    def move(self, waiter: Waiter, queue: str) -> None: ...

    def leave(self, waiter: Waiter) -> int | None: ...

    def answered(self, waiter: Waiter, *, answered_at: datetime) -> float: ...

    def no_answer(self, waiter: Waiter, status: DialStatus) -> None: ...

    def contact_ended(self, agent_id: str, queue: str, *, talk_seconds: float) -> float: ...

    def abandoned(self, waiter: Waiter) -> tuple[float, int | None]: ...


@dataclass
class HoldDeps:
    service: WaitingLine
    store: AcdStore | None
    recorder: CallRecorder
    prompts: PromptCatalogue | None = None
    callbacks: CallbackPort | None = None
    deflection: DeflectionPort | None = None
    controls: CallControls | None = None


async def fail_open(what: str, awaitable: Awaitable[object]) -> None:
    """Bookkeeping must never cost the caller their call: log loudly and carry on."""
    try:
        await awaitable
    except Exception:
        log.exception("acd bookkeeping failed", extra={"step": what})


class HoldCall:
    """The caller's state while on hold: the entry in line, the queue it is in now, and what the
    caller heard (its exit record compares the first estimate heard with the wait lived)."""

    cfg: QueueConfig  # the queue the caller is in now (set on joining; overflow and transfers change it)
    waiter: Waiter  # the caller's entry in that queue

    def __init__(self, deps: HoldDeps, channel: Channel, request: QueueRequest) -> None:
        self.d = deps
        self.channel = channel
        self.request = request
        self.ctx = request.context
        self.call_id = channel.info.call_id
        self.link_sent = False
        self.first_announcement = True
        self.ewt_at_join: float | None = None
        self.announced_seconds: float | None = None
        # (estimate, band, when) first spoken; when = this call's time in line at that moment
        self.first_heard: tuple[float, AnnouncedBand, float] | None = None
        self.unstaffed_from: set[str] = set()  # queues this caller already left because nobody staffed them
        self.elapsed = 0.0  # seconds on hold (real time, or the hold slices a virtual channel reports)
        self.transferred = False  # the desk just moved the caller to another queue

    def waited(self) -> float:
        """In line so far, with a returning caller's credit (what the caller lived through)."""
        return max((self.d.service.clock() - self.waiter.arrival).total_seconds(), 0.0)

    def waited_this_call(self) -> float:
        return max((self.d.service.clock() - self.waiter.joined_at).total_seconds(), 0.0)

    def files(self, ids: list[str]) -> list[PromptFile]:
        """The prompts among ``ids`` recorded in the caller's language."""
        prompts, lang = self.d.prompts, self.ctx.language
        if prompts is None:
            return []
        return [f for f in (prompts.find(i, lang) for i in ids) if f is not None]
