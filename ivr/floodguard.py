"""A flood guard per source: a token bucket per key (an address), checked before any parsing.

What SIP and HTTP servers do to stay up under a flood (Kamailio's pike module, fail2ban): count
what each source sends and refuse the excess for almost nothing, before any parsing or routing, so
that one noisy source cannot spend the event loop that carries every call. A source may send
``burst`` at once and ``rate`` per second after that.

The table is bounded (``max_sources``): when it is full, sources whose bucket has refilled (idle:
forgetting them loses nothing) are dropped first, then the oldest. Refusals are counted; each
refusing source is logged at most once per ``log_window`` seconds (with how many were refused),
and all sources together at most ``_LOG_BURST`` lines per window, so a flood of many sources does
not turn into a flood of log lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger("ivr.floodguard")

_LOG_BURST = 20  # refusal log lines per window, all sources together


@dataclass(frozen=True, slots=True)
class FloodLimit:
    rate: float  # per second, sustained; 0 turns the guard off
    burst: int  # at once

    @property
    def enabled(self) -> bool:
        return self.rate > 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    refused: int = 0  # since the last log line about this source
    logged_at: float = float("-inf")


class FloodGuard:
    def __init__(self, limit: FloodLimit, *, what: str, max_sources: int = 10_000, log_window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.refused = 0
        self._what = what  # for the log line: "SIP" or "HTTP"
        self._max = max(1, max_sources)
        self._window = log_window
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}
        self._log_window_start = float("-inf")
        self._logged_in_window = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, key: Hashable, label: str | None = None) -> bool:
        """True: let it through (one token spent). False: refuse it (counted, logged now and then)."""
        limit = self.limit
        if limit.rate <= 0:
            return True
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max:
                self._make_room(now)
            self._buckets[key] = _Bucket(limit.burst - 1.0, now)
            return True
        tokens = min(float(limit.burst), bucket.tokens + (now - bucket.at) * limit.rate)
        bucket.at = now
        if tokens >= 1.0:
            bucket.tokens = tokens - 1.0
            return True
        bucket.tokens = tokens
        bucket.refused += 1
        self.refused += 1
        if now - bucket.logged_at >= self._window:
            self._log(bucket, now, label if label is not None else str(key))
        return False

    def _log(self, bucket: _Bucket, now: float, label: str) -> None:
        if now - self._log_window_start >= self._window:
            self._log_window_start, self._logged_in_window = now, 0
        if self._logged_in_window >= _LOG_BURST:
            return  # this source is logged in a later window, with its count so far
        self._logged_in_window += 1
        log.warning("%s flood guard: refusing what %s sends past %g/s (burst %d); %d refused since the last note",
                    self._what, label, self.limit.rate, self.limit.burst, bucket.refused,
                    extra={"source": label, "refused": bucket.refused})
        bucket.refused = 0
        bucket.logged_at = now

    def _make_room(self, now: float) -> None:
        refill = self.limit.burst / self.limit.rate
        idle = [key for key, b in self._buckets.items() if now - b.at >= refill]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max:  # every source is active: the oldest tenth goes
            for key in list(self._buckets)[: max(1, self._max // 10)]:
                del self._buckets[key]
