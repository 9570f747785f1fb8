"""Counters for the FastAGI server (the metrics domain exports them; tests and the bench read them)."""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

# Upper bounds (seconds) of the command round-trip histogram buckets; the last one is open.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
# Long commands last seconds to an hour (a bridge): coarser buckets.
LONG_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class AgiErrorKind(enum.StrEnum):
    NO_ENVIRONMENT = "no_environment"  # closed or timed out before a complete agi_* block
    PROTOCOL = "protocol"  # malformed lines, unsolicited replies
    LINE_TOO_LONG = "line_too_long"
    TIMEOUT = "timeout"  # a command got no reply in time
    CALL_FAILED = "call_failed"  # the flow or script raised
    NO_ENGINE = "no_engine"  # nothing to run the call


@dataclass
class AgiStats:
    connections_total: int = 0
    connections_active: int = 0
    calls_completed: int = 0
    caller_hangups: int = 0
    commands_total: int = 0
    errors: Counter[AgiErrorKind] = field(default_factory=Counter)
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    # Long commands (prompts, key waits, Dial, AudioSocket, hold polls) by kind: buckets and sum.
    long_latency: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)

    def observe_command(self, seconds: float, long_kind: str | None = None) -> None:
        self.commands_total += 1
        if long_kind is None:
            self.latency_sum += seconds
            self.latency_buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            return
        entry = self.long_latency.get(long_kind)
        if entry is None:
            entry = self.long_latency[long_kind] = ([0] * (len(LONG_BUCKETS) + 1), [0.0])
        entry[0][bisect_left(LONG_BUCKETS, seconds)] += 1
        entry[1][0] += seconds

    def error(self, kind: AgiErrorKind) -> None:
        self.errors[kind] += 1

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())
