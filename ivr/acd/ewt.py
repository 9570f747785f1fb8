"""Estimated wait time: QL-m (Ibrahim & Whitt) with online estimates of service and abandonment.

With ``n`` callers ahead, ``s`` agents serving the queue, service rate ``mu`` and abandonment rate
``theta``, a caller who must wait needs ``n + 1`` departures from the line in front of them; while
``i`` callers are ahead they leave at rate ``s*mu + i*theta``, so

    EWT = sum_{i=0..n} 1 / (s*mu + i*theta)

``mu`` is 1 / mean handle time and ``theta`` is abandons / total time waited (the maximum-likelihood
rate of exponential patience, with served callers' waits as censored observations). Both are
exponentially weighted over recent events so they follow the day. While ``mu`` is unknown we fall
back to the wait of the last caller to enter service (LES), then to the head-of-line delay (HOL).
The same :class:`QueueRates` runs in ``bench/ewt.py``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Method(enum.StrEnum):
    QLM = "qlm"
    LES = "les"
    HOL = "hol"
    IMMEDIATE = "immediate"  # an agent is free


@dataclass(frozen=True, slots=True)
class Prediction:
    seconds: float
    method: Method


@dataclass
class QueueRates:
    """Per-queue online estimates. ``alpha`` is the weight of the newest observation."""

    alpha: float = 0.02
    min_services: int = 5
    _handle_sum: float = 0.0
    _handle_weight: float = 0.0
    _services: int = 0
    _abandons: float = 0.0
    _waited: float = 0.0
    last_entered_wait: float | None = None

    def record_service(self, handle_seconds: float) -> None:
        """A contact ended: talk time plus wrap-up is how long it kept an agent."""
        keep = 1.0 - self.alpha
        self._handle_sum = keep * self._handle_sum + max(handle_seconds, 0.0)
        self._handle_weight = keep * self._handle_weight + 1.0
        self._services += 1

    def record_exit(self, waited_seconds: float, *, abandoned: bool) -> None:
        """A caller left the line, by reaching an agent or by hanging up (or a callback...)."""
        keep = 1.0 - self.alpha
        self._waited = keep * self._waited + max(waited_seconds, 0.0)
        self._abandons = keep * self._abandons + (1.0 if abandoned else 0.0)

    def record_entered_service(self, waited_seconds: float) -> None:
        self.last_entered_wait = waited_seconds

    @property
    def mu(self) -> float | None:
        if self._services < self.min_services or self._handle_sum <= 0:
            return None
        return self._handle_weight / self._handle_sum

    @property
    def theta(self) -> float:
        if self._waited <= 0:
            return 0.0
        return self._abandons / self._waited

    @property
    def mean_handle(self) -> float | None:
        mu = self.mu
        return None if mu is None else 1.0 / mu


def ql_m(ahead: int, servers: int, mu: float, theta: float) -> float:
    """Expected wait for a caller with ``ahead`` callers in front and all ``servers`` busy."""
    if servers <= 0 or mu <= 0:
        raise ValueError("QL-m needs servers > 0 and mu > 0")
    total_rate = servers * mu
    return math.fsum(1.0 / (total_rate + i * theta) for i in range(ahead + 1))


def predict(
    *,
    ahead: int,
    servers: int,
    free_agent: bool,
    rates: QueueRates,
    head_of_line_wait: float | None,
) -> Prediction | None:
    """The EWT for one caller now, or None when nothing sensible can be said (no agents)."""
    if free_agent:
        return Prediction(0.0, Method.IMMEDIATE)
    if servers <= 0:
        return None
    mu = rates.mu
    if mu is not None:
        return Prediction(ql_m(ahead, servers, mu, rates.theta), Method.QLM)
    if rates.last_entered_wait is not None:
        return Prediction(rates.last_entered_wait, Method.LES)
    if head_of_line_wait is not None:
        return Prediction(head_of_line_wait, Method.HOL)
    return None
