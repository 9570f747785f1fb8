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
    send_errors: int = 0  # streams that failed to send (bad peer address, socket error): their calls end

    # From the moment a prompt was asked for (a menu turn's start, or the caller's key or recognised
    # answer just before it) to its first RTP frame: "a turn starts its prompt within 100 ms".
    prompt_starts: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=20_000))

    def record(self, lateness: float) -> None:
        self.samples.append(lateness)
        self.frames_sent += 1

    def percentile(self, p: float) -> float:
        return _percentile(self.samples, p)

    def prompt_start_percentile(self, p: float) -> float:
        return _percentile(self.prompt_starts, p)


def _percentile(samples: collections.deque[float], p: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class EndpointStats:
    calls_in: int = 0
    calls_rejected: int = 0  # 503 past max_calls
    malformed: int = 0
    send_errors: int = 0  # SIP messages the socket refused to send (bad destination)
    call_faults: int = 0  # calls ended by an unexpected error in the endpoint (that call only)
    internal_errors: int = 0  # messages whose handling raised unexpectedly (dropped, endpoint goes on)
