"""Wallboard thresholds: defaults that follow the queue's target, overrides from queues.yaml, clear errors."""

from __future__ import annotations

import pytest

from ivr.acd.config import ConfigError, parse_queue
from ivr.acd.thresholds import Level, Threshold, parse_thresholds


def test_levels_for_higher_and_lower_is_worse() -> None:
    waiting = Threshold(5, 10)
    assert [waiting.level(v) for v in (0, 5, 9, 10)] == [Level.OK, Level.WARN, Level.WARN, Level.ALARM]
    sl = Threshold(80, 70, lower_is_worse=True)
    assert [sl.level(v) for v in (95, 80, 71, 70)] == [Level.OK, Level.WARN, Level.WARN, Level.ALARM]
    assert sl.level(None) is None  # no calls yet: no colour


def test_defaults_follow_the_service_level_and_yaml_overrides_them() -> None:
    t = parse_thresholds(None, sl_percent=90, sl_seconds=30)
    assert (t["service_level_percent"].warn, t["service_level_percent"].alarm) == (90, 80)
    assert (t["asa_seconds"].warn, t["asa_seconds"].alarm) == (30, 60)
    t = parse_thresholds({"waiting": {"warn": 2, "alarm": 4}}, sl_percent=80, sl_seconds=20)
    assert (t["waiting"].warn, t["waiting"].alarm) == (2, 4) and t["abandon_percent"].warn == 5


@pytest.mark.parametrize(("raw", "message"), [
    ({"wating": {"warn": 1}}, "unknown figure 'wating'"),
    ({"waiting": {"warn": 10, "alarm": 5}}, "alarm (5) must be at or above warn (10)"),
    ({"service_level_percent": {"warn": 70, "alarm": 80}}, "alarm (80) must be at or below warn (70)"),
    ({"waiting": 3}, "expected {warn: <number>, alarm: <number>}"),
    ({"waiting": {"warn": "many"}}, "must be numbers"),
])
def test_a_bad_threshold_is_a_config_error_naming_the_queue(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_queue("support", {"wallboard": raw})
    assert "queue support" in str(err.value) and message in str(err.value)


def test_short_abandon_threshold_is_read_and_written() -> None:
    q = parse_queue("support", {"service_level": {"percent": 80, "seconds": 20, "short_abandon_seconds": 8}})
    assert q.service_level.short_abandon_seconds == 8
    assert q.to_dict()["service_level"]["short_abandon_seconds"] == 8
    assert parse_queue("x", {}).service_level.short_abandon_seconds == 5
