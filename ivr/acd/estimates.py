"""What the line looks like to the people waiting and to the wallboard: the estimated wait (QL-m,
:mod:`ivr.acd.ewt`) of a caller joining now or already in line, the staffing, and the snapshot of
every queue the runtime stores for ``ivr queues status``. Reads only: the service changes the line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from ivr.acd.config import QueueConfig
from ivr.acd.ewt import Prediction, Priors, QueueRates, predict
from ivr.acd.queuebook import QueueBook
from ivr.acd.router import Router
from ivr.acd.store import QueueLive, WaitingSnapshot
from ivr.acd.types import AgentState, EntryKind, Waiter


def priors(cfg: QueueConfig) -> Priors:
    """The queue's configured handle time and patience: the estimate's start before any history."""
    return Priors(handle_seconds=cfg.expected_handle_seconds, patience_seconds=cfg.expected_patience_seconds)


class Estimates:
    def __init__(self, router: Router, rates: dict[str, QueueRates], queues: QueueBook,
                 clock: Callable[[], datetime]) -> None:
        self.router = router
        self.rates = rates  # learnt by the service (or from every node's contacts: sharedrates.py)
        self.queues = queues
        self.clock = clock

    def queue_priors(self) -> dict[str, Priors]:
        """Every queue's priors (the start of the rates rebuilt from the shared contacts)."""
        return {cfg.name: priors(cfg) for cfg in self.queues.configs()}

    def staffed(self, queue: str) -> int:
        return self.router.staffed(queue)

    def estimate(self, queue: str, *, ahead: int | None = None, priority: int | None = None) -> Prediction | None:
        """EWT for a caller with ``ahead`` callers in front (default: one joining now with the
        queue's own priority) who can be overtaken by later arrivals above ``priority``."""
        cfg = self.queues.queue_config(queue)
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
        """The estimate of a caller in line (None once offered an agent); the model's first one is
        kept on the waiter, to learn from what followed."""
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

    def live_snapshot(self, waiters: Mapping[str, Waiter]) -> tuple[list[WaitingSnapshot], list[QueueLive]]:
        waiting: list[WaitingSnapshot] = []
        live: list[QueueLive] = []
        for name in self.queues.queue_names():
            for position, entry in enumerate(self.router.in_queue(name), start=1):
                waiter = waiters.get(entry.entry_id)
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
