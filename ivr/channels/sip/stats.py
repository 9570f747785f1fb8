"""Endpoint counters, RTP frame timing, and the pacing statistics the benchmark prints."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

FRAME_SECONDS = 0.020
FRAME_SAMPLES = 160  # 20 ms at 8 kHz, one byte per G.711 sample


@dataclass
class PacingStats:
    """Lateness of every sent frame against its absolute deadline (seconds), recent window."""

    samples: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=200_000))
    frames_sent: int = 0

    def record(self, lateness: float) -> None:
        self.samples.append(lateness)
        self.frames_sent += 1

    def percentile(self, p: float) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class EndpointStats:
    calls_in: int = 0
    calls_rejected: int = 0  # 503 past max_calls
    calls_failed: int = 0  # ended by a fault of their own (logged); the endpoint went on
    malformed: int = 0
