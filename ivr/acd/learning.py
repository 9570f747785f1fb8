"""What the estimates learn on one node, online, from its own line: arrivals per priority, waits
until served or abandoned, handle times and how the model's first estimate turned out; warmed up
at start from the stored contacts.

On several nodes (``IVR_ACD__SHARED=true``) nothing is learnt here: every node learns from the
shared contacts alone (:mod:`ivr.acd.sharedrates`), so that all nodes hold the same rates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ivr.acd.ewt import QueueRates
from ivr.acd.sharedrates import learn_contact
from ivr.acd.store import AcdStore
from ivr.acd.types import EntryKind, Waiter


class OnlineLearning:
    def __init__(self, rates: dict[str, QueueRates], *, enabled: bool, clock: Callable[[], datetime]) -> None:
        self.rates = rates
        self.enabled = enabled
        self.clock = clock

    async def warm_up(self, store: AcdStore) -> None:
        if not self.enabled:
            return
        for name, rates in self.rates.items():
            for c in await store.recent_contacts(name, limit=1000):
                learn_contact(rates, c)
            for ahead, servers, model, actual in await store.recent_outcomes(name):
                rates.correction.learn(ahead, servers, model, actual)

    def joined(self, queue: str, priority: int) -> None:
        """Overtaking: how often callers of each priority arrive (a callback overtakes like a call)."""
        if self.enabled:
            self.rates[queue].record_arrival(self.clock().timestamp(), priority)

    def answered(self, waiter: Waiter, waited: float) -> None:
        if not self.enabled:
            return
        rates = self.rates[waiter.queue]
        rates.record_entered_service(waited)
        if waiter.kind is EntryKind.CALL:
            rates.record_exit(waited, abandoned=False, now=self.clock().timestamp())
            if waiter.model_at_join is not None:  # what followed the model's first estimate
                ahead, servers, model = waiter.model_at_join
                rates.correction.learn(ahead, servers, model, waited)

    def handled(self, queue: str, handle_seconds: float) -> None:
        if self.enabled:
            self.rates[queue].record_service(handle_seconds, self.clock().timestamp())

    def abandoned(self, waiter: Waiter, waited: float) -> None:
        if waiter.kind is EntryKind.CALL and self.enabled:
            self.rates[waiter.queue].record_exit(waited, abandoned=True, now=self.clock().timestamp())
