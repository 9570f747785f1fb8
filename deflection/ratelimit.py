"""A small in-memory sliding-window limiter for the landing page.

The page keeps two: views per link (a valid token's own limit) and misses per client address
(unknown, malformed or expired tokens only), so a client that guesses never locks out a real link
opened from the same address (a carrier's NAT puts many phones behind one)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(self, limit: int, window: float = 60.0, *, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, *keys: str) -> bool:
        """Count one hit on every key; False when any key is over the limit (nothing counted then)."""
        now = self._clock()
        queues = [self._queue(k, now) for k in keys]
        if any(len(q) >= self._limit for q in queues):
            return False
        for q in queues:
            q.append(now)
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may be counted again (at least 1)."""
        now = self._clock()
        q = self._queue(key, now)
        if len(q) < self._limit:
            return 1
        return max(1, math.ceil(self._window - (now - q[len(q) - self._limit])))

    def _queue(self, key: str, now: float) -> deque[float]:
        q = self._hits.get(key)
        if q is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now)
            q = self._hits[key] = deque()
        while q and now - q[0] >= self._window:
            q.popleft()
        return q

    def _prune(self, now: float) -> None:
        stale = [k for k, q in self._hits.items() if not q or now - q[-1] >= self._window]
        for k in stale:
            del self._hits[k]
        if len(self._hits) >= self._max_keys:
            # Still full of live keys: drop the oldest half rather than grow without bound.
            for k in list(self._hits)[: self._max_keys // 2]:
                del self._hits[k]
