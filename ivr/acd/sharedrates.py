"""The EWT's rates on several nodes: every node learns from the same observations, in the same order.

On one node the rates (handle times, abandons, arrivals per priority, the learnt correction) are
learnt online from that node's own callers. On several nodes that would make each node's estimate
come from its own share of the calls, and two callers at the same place on two nodes would hear
different waits. So in shared mode a node learns nothing on its own: every ``rates_refresh_seconds``
it reads the contacts all nodes stored (``acd_contacts``, each answered one with its first
prediction) that it has not seen, and rebuilds the rates of each queue that got new ones from that
queue's last ``WINDOW`` contacts, in row-id order, with the same function. The rates are then a
function of the shared table alone: nodes that have read the same rows (within one refresh of each
other) hold the same rates, whatever they saw or when they started.

The arrivals per priority (who overtakes whom) are learnt from the contacts too, by the time each
caller joined: counted when the caller leaves the line rather than when they join.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from ivr.acd.ewt import Priors, QueueRates
from ivr.acd.store import AcdStore, ContactRecord, SeenContact
from ivr.acd.types import EntryKind

log = logging.getLogger(__name__)

WINDOW = 1000  # contacts per queue (as many as a single node warms up from at start)
OVERLAP = 50  # ids read again: a row committed after a later id was read is still picked up


def learn_contact(rates: QueueRates, c: ContactRecord) -> None:
    """One stored queue stay into the rates (a single node's warm-up does the same)."""
    if c.kind == EntryKind.CALL.value and c.outcome in ("connected", "abandoned"):
        rates.record_exit(c.waited_seconds, abandoned=c.outcome == "abandoned", now=c.left_at.timestamp())
    if c.outcome == "connected":
        rates.record_entered_service(c.waited_seconds)
        if c.handle_seconds is not None:
            rates.record_service(c.handle_seconds, c.left_at.timestamp())


def rates_from(priors: Priors, seen: list[SeenContact]) -> QueueRates:
    """A queue's rates from its contacts (in id order): the same rows give the same rates."""
    rates = QueueRates(priors=priors)
    for s in seen:
        learn_contact(rates, s.contact)
        if s.outcome is not None:
            rates.correction.learn(*s.outcome)
    for s in sorted(seen, key=lambda s: (s.contact.joined_at, s.id)):
        rates.record_arrival(s.contact.joined_at.timestamp(), s.contact.priority or 0)
    return rates


@dataclass
class SharedRates:
    """Keeps ``rates`` (the service's dict, replaced per queue) built from the shared contacts."""

    store: AcdStore
    rates: dict[str, QueueRates]
    priors: Callable[[], Mapping[str, Priors]]  # the queues' current priors (an admin may edit them)
    interval: float = 1.0
    name: str = "acd-shared-rates"
    _seen: dict[str, dict[int, SeenContact]] = field(default_factory=dict)
    _max_id: int = 0

    async def refresh(self) -> set[str]:
        """Read what is new and rebuild the queues it touched; returns their names."""
        new = await self.store.contacts_after(max(self._max_id - OVERLAP, 0) if self._max_id else 0,
                                              per_queue=WINDOW)
        changed: set[str] = set()
        for s in new:
            window = self._seen.setdefault(s.contact.queue, {})
            if s.id not in window:
                window[s.id] = s
                changed.add(s.contact.queue)
            self._max_id = max(self._max_id, s.id)
        priors = self.priors()
        for queue in changed:
            window = self._seen[queue]
            for old in sorted(window)[:-WINDOW]:
                del window[old]
            if queue in priors:
                self.rates[queue] = rates_from(priors[queue], [window[i] for i in sorted(window)])
        return changed

    async def run(self, started: asyncio.Event) -> None:
        await self.refresh()
        started.set()
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except (OSError, SQLAlchemyError):  # the database is away: the rates stay as they were
                log.exception("shared EWT rates: cannot read the contacts")
