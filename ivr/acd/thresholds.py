"""Wallboard thresholds per queue: when a figure turns a tile amber (``warn``) or red (``alarm``).

Set in ``queues.yaml`` under a queue's ``wallboard:`` mapping; anything not set has a default that
follows the queue's own service-level target::

    support:
      service_level: {percent: 80, seconds: 20}
      wallboard:
        waiting: {warn: 5, alarm: 10}              # callers waiting now
        longest_wait_seconds: {warn: 60, alarm: 180}
        service_level_percent: {warn: 80, alarm: 70}  # lower is worse
        abandon_percent: {warn: 5, alarm: 10}
        asa_seconds: {warn: 20, alarm: 40}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    ALARM = "alarm"


@dataclass(frozen=True, slots=True)
class Threshold:
    warn: float
    alarm: float
    lower_is_worse: bool = False

    def level(self, value: float | None) -> Level | None:
        """None when there is no figure to judge (no calls yet): the tile stays neutral."""
        if value is None:
            return None
        if self.lower_is_worse:
            return Level.ALARM if value <= self.alarm else Level.WARN if value <= self.warn else Level.OK
        return Level.ALARM if value >= self.alarm else Level.WARN if value >= self.warn else Level.OK

    def to_dict(self) -> dict[str, Any]:
        return {"warn": self.warn, "alarm": self.alarm, "lower_is_worse": self.lower_is_worse}


LOWER_IS_WORSE = frozenset({"service_level_percent"})
METRICS = ("waiting", "longest_wait_seconds", "service_level_percent", "abandon_percent", "asa_seconds")


class ThresholdError(ValueError):
    pass


def defaults(sl_percent: float, sl_seconds: float) -> dict[str, Threshold]:
    return {
        "waiting": Threshold(5, 10),
        "longest_wait_seconds": Threshold(max(60.0, 3 * sl_seconds), max(180.0, 9 * sl_seconds)),
        "service_level_percent": Threshold(sl_percent, max(0.0, sl_percent - 10), lower_is_worse=True),
        "abandon_percent": Threshold(5, 10),
        "asa_seconds": Threshold(sl_seconds, 2 * sl_seconds),
    }


def parse_thresholds(raw: dict[str, Any] | None, *, sl_percent: float, sl_seconds: float) -> dict[str, Threshold]:
    """The queue's thresholds: its ``wallboard:`` entries over the defaults. Errors name the entry."""
    out = defaults(sl_percent, sl_seconds)
    for metric, value in (raw or {}).items():
        if metric not in METRICS:
            raise ThresholdError(f"wallboard: unknown figure {metric!r} (known: {', '.join(METRICS)})")
        if not isinstance(value, dict) or set(value) - {"warn", "alarm"}:
            raise ThresholdError(f"wallboard.{metric}: expected {{warn: <number>, alarm: <number>}}")
        base = out[metric]
        try:
            warn, alarm = float(value.get("warn", base.warn)), float(value.get("alarm", base.alarm))
        except (TypeError, ValueError):
            raise ThresholdError(f"wallboard.{metric}: warn and alarm must be numbers") from None
        lower = metric in LOWER_IS_WORSE
        if (alarm > warn) if lower else (alarm < warn):
            side = "at or below" if lower else "at or above"
            raise ThresholdError(f"wallboard.{metric}: alarm ({alarm:g}) must be {side} warn ({warn:g})")
        out[metric] = Threshold(warn, alarm, lower)
    return out
