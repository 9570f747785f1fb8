"""Estimated wait time: QL-m (Ibrahim & Whitt) with low-noise online rates, priors and priorities.

With ``n`` callers ahead, ``s`` agents serving the queue, service rate ``mu`` and abandonment rate
``theta``, a caller who must wait needs ``n + 1`` departures from the line in front of them; while
``i`` callers are ahead they leave at rate ``s*mu + i*theta``, so the wait is a sum of independent
exponential stages with

    mean = sum_{i=0..n} 1 / (s*mu + i*theta),   variance = sum_{i=0..n} 1 / (s*mu + i*theta)^2

(callbacks in line never hang up, so only the share of callers ahead who can abandon adds
``theta``). The variance is what the announced band is built from (see
:func:`ivr.prompts.speech_numbers.wait_band`).

Where the rates come from, and why this way:

- ``mu`` is completed services / time agents spent on them, learnt only when a service *ends*
  (a service's length is not known before). The sums cover the last ``window_services`` services
  or the last ``window_seconds``, whichever holds more: the old ``alpha = 0.02`` averaged about 50 handle times, and the
  noise in ``mu`` alone made the estimator up to 2.3x worse than QL-m with the true rates.
- ``theta`` is abandons / total time callers spent waiting (the maximum-likelihood rate of
  exponential patience, served callers' waits being censored observations), decayed the same way.
- Both start from a *prior*: the queue's configured expected handle time (and patience, if given)
  counts as ``prior_weight`` observations, so a cold queue says something sensible from its first
  caller, and the history stored in the database is replayed on top at start-up.
- Priorities: a caller is overtaken by later arrivals of a higher priority. With those arriving at
  ``lambda_h`` (estimated online per priority, time-decayed), each needs ``1/(s*mu)`` of the
  agents' capacity, so the wait stretches by ``1 / (1 - lambda_h / (s*mu))`` (capped).

- A learnt correction (:class:`ResidualCorrection`): the ratio of actual to predicted waits of
  answered callers, by callers ahead and staffing, as the delay-prediction literature does with
  regressions on an estimator's residuals.

LES and HOL are kept only as reference estimators for ``bench/ewt.py``: with a prior there is
always a QL-m answer, so a caller who must wait is never told 0 nor the head-of-line wait.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

DEFAULT_HANDLE_SECONDS = 180.0
MIN_ARRIVAL_SPAN = 600.0
MAX_OVERTAKE_FACTOR = 10.0  # beyond that a low-priority caller's wait is "more than" anything useful


class Method(enum.StrEnum):
    QLM = "qlm"
    QLM_PRIORITY = "qlm_priority"  # QL-m stretched for expected overtaking by higher priorities
    LES = "les"  # reference only (bench, old history rows)
    HOL = "hol"  # reference only (bench, old history rows)
    IMMEDIATE = "immediate"  # an agent is free


@dataclass(frozen=True, slots=True)
class Prediction:
    seconds: float
    method: Method
    spread: float = 0.0  # standard deviation of the wait under the model, seconds
    model_seconds: float | None = None  # before the learnt correction (what the correction learns from)


@dataclass(frozen=True, slots=True)
class Priors:
    """What a queue's configuration says before any call: ``weight`` pseudo-observations."""

    handle_seconds: float = DEFAULT_HANDLE_SECONDS
    patience_seconds: float | None = None  # None: no abandonment assumed until some is seen
    weight: float = 10.0


@dataclass
class _DecayedRate:
    """events / exposure over the last ``window`` observations or the last ``seconds``, whichever
    holds more: a busy queue averages thousands of services (little noise), a quiet one still
    several hundred."""

    window: float
    seconds: float
    events: float = 0.0
    exposure: float = 0.0
    count: int = 0
    last: float | None = None

    def add(self, events: float, exposure: float, now: float | None) -> None:
        step = 1.0 / self.window
        if now is not None and self.last is not None:
            step = min(step, max(now - self.last, 0.0) / self.seconds)
        if now is not None:
            self.last = now if self.last is None else max(self.last, now)
        keep = math.exp(-step)
        self.events = keep * self.events + events
        self.exposure = keep * self.exposure + exposure
        self.count += 1


@dataclass
class _ArrivalRate:
    """Poisson arrival rate over a sliding exponential time window of ``tau`` seconds."""

    tau: float
    started: float | None = None
    last: float = 0.0
    level: float = 0.0

    def arrive(self, now: float) -> None:
        if self.started is None:
            self.started = self.last = now
        self.level = self.level * math.exp(-max(now - self.last, 0.0) / self.tau) + 1.0
        self.last = max(now, self.last)

    def rate(self, now: float) -> float:
        if self.started is None:
            return 0.0
        # while fewer than tau seconds have been seen, divide by the (decayed) time actually observed,
        # but by at least a few minutes: one arrival a second after start is not a rate of 1/s
        span = self.tau * (1.0 - math.exp(-max(now - self.started, MIN_ARRIVAL_SPAN) / self.tau))
        return self.level * math.exp(-max(now - self.last, 0.0) / self.tau) / span


def _bucket(n: int) -> int:
    """0, 1, 2, 3-4, 5-8, 9-16, ...: positions and staffing on a log scale."""
    return 0 if n <= 0 else (n - 1).bit_length() + 1


@dataclass
class ResidualCorrection:
    """An online correction of the model by what actually followed, per (callers ahead, agents).

    QL-m gives the wait of a caller who stays however long it takes; the callers who are answered
    (the ones whose wait can be checked) are, when patience is short, the ones whose wait turned out
    short, and real queues are not exactly Markovian. For each bucket we keep the decayed sums of
    actual and predicted waits of answered callers and scale new predictions by their ratio, shrunk
    towards 1 while the bucket has few observations (``prior`` of them say "the model is right")."""

    window: float = 400.0
    prior: float = 40.0
    bounds: tuple[float, float] = (0.5, 2.0)
    _sums: dict[tuple[int, int], list[float]] = field(default_factory=dict)  # n, actual, predicted

    def learn(self, ahead: int, servers: int, predicted: float, actual: float) -> None:
        if predicted <= 0 or actual < 0:
            return
        sums = self._sums.setdefault((_bucket(ahead), _bucket(servers)), [0.0, 0.0, 0.0])
        keep = 1.0 - 1.0 / self.window
        sums[0] = keep * sums[0] + 1.0
        sums[1] = keep * sums[1] + actual
        sums[2] = keep * sums[2] + predicted

    def factor(self, ahead: int, servers: int) -> float:
        sums = self._sums.get((_bucket(ahead), _bucket(servers)))
        if sums is None or sums[2] <= 0:
            return 1.0
        n, ratio = sums[0], sums[1] / sums[2]
        low, high = self.bounds
        return min(max((n * ratio + self.prior) / (n + self.prior), low), high)


@dataclass
class QueueRates:
    """Per-queue online estimates (see the module docstring)."""

    priors: Priors = field(default_factory=Priors)
    window_services: float = 500.0
    window_exits: float = 500.0
    window_seconds: float = 3 * 3600.0
    arrival_window_seconds: float = 3600.0
    _service: _DecayedRate = field(init=False)
    _abandon: _DecayedRate = field(init=False)
    _arrivals: dict[int, _ArrivalRate] = field(init=False, default_factory=dict)
    correction: ResidualCorrection = field(default_factory=ResidualCorrection)
    last_entered_wait: float | None = None

    def __post_init__(self) -> None:
        self._service = _DecayedRate(self.window_services, self.window_seconds)
        self._abandon = _DecayedRate(self.window_exits, self.window_seconds)

    def set_priors(self, priors: Priors) -> None:
        self.priors = priors

    # ------------------------------------------------------------------ observations
    def record_service(self, handle_seconds: float, now: float | None = None) -> None:
        """A contact ENDED (at ``now``, seconds): talk time plus wrap-up is how long it kept an agent."""
        self._service.add(1.0, max(handle_seconds, 0.0), now)

    def record_exit(self, waited_seconds: float, *, abandoned: bool, now: float | None = None) -> None:
        """A caller left the line, by reaching an agent or by hanging up."""
        self._abandon.add(1.0 if abandoned else 0.0, max(waited_seconds, 0.0), now)

    def record_entered_service(self, waited_seconds: float) -> None:
        self.last_entered_wait = waited_seconds

    def record_arrival(self, now: float, priority: int) -> None:
        """A caller joined with ``priority`` (``now`` in seconds on any monotonic scale)."""
        self._arrivals.setdefault(priority, _ArrivalRate(self.arrival_window_seconds)).arrive(now)

    # ------------------------------------------------------------------ estimates
    @property
    def services(self) -> int:
        return self._service.count

    @property
    def mu(self) -> float:
        p = self.priors
        exposure = self._service.exposure + p.weight * p.handle_seconds
        return (self._service.events + p.weight) / exposure

    @property
    def theta(self) -> float:
        p = self.priors
        events, exposure = self._abandon.events, self._abandon.exposure
        if p.patience_seconds is not None:
            events += p.weight
            exposure += p.weight * p.patience_seconds
        return events / exposure if exposure > 0 else 0.0

    @property
    def mean_handle(self) -> float:
        return 1.0 / self.mu

    def overtaking_rate(self, priority: int, now: float) -> float:
        """Arrivals per second of callers who would go ahead of one with ``priority``."""
        return math.fsum(r.rate(now) for p, r in self._arrivals.items() if p > priority)


def ql_m_moments(ahead: int, servers: int, mu: float, theta: float, *,
                 abandoning_share: float = 1.0) -> tuple[float, float]:
    """Mean and variance of the wait with ``ahead`` callers in front and all ``servers`` busy."""
    if servers <= 0 or mu <= 0:
        raise ValueError("QL-m needs servers > 0 and mu > 0")
    total_rate = servers * mu
    rates = [total_rate + i * theta * abandoning_share for i in range(max(ahead, 0) + 1)]
    return math.fsum(1.0 / r for r in rates), math.fsum(1.0 / (r * r) for r in rates)


def ql_m(ahead: int, servers: int, mu: float, theta: float) -> float:
    """Expected wait for a caller with ``ahead`` callers in front and all ``servers`` busy."""
    return ql_m_moments(ahead, servers, mu, theta)[0]


def overtake_factor(overtaking_rate: float, servers: int, mu: float) -> float:
    """How much later arrivals of higher priority stretch a wait (1 when there are none)."""
    load = overtaking_rate / (servers * mu)
    return min(1.0 / (1.0 - load), MAX_OVERTAKE_FACTOR) if load < 1.0 else MAX_OVERTAKE_FACTOR


def predict(
    *,
    ahead: int,
    servers: int,
    free_agent: bool,
    rates: QueueRates,
    priority: int = 0,
    now: float | None = None,
    abandoning_share: float = 1.0,
) -> Prediction | None:
    """The EWT for one caller now, or None when nobody can answer (no agent staffed).

    A caller who must wait always gets a positive QL-m answer: the rates start from priors."""
    if free_agent:
        return Prediction(0.0, Method.IMMEDIATE)
    if servers <= 0:
        return None
    mu, theta = rates.mu, rates.theta
    mean, variance = ql_m_moments(ahead, servers, mu, theta, abandoning_share=abandoning_share)
    factor = overtake_factor(rates.overtaking_rate(priority, now), servers, mu) if now is not None else 1.0
    method = Method.QLM_PRIORITY if factor > 1.0 else Method.QLM
    model = mean * factor
    learnt = rates.correction.factor(ahead, servers)
    return Prediction(model * learnt, method, math.sqrt(variance) * factor * learnt, model)
