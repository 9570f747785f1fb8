"""Exports :class:`AgiStats` to Prometheus at scrape time (no hot-path cost per command)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ivr.channels.agi.stats import LATENCY_BUCKETS, LONG_BUCKETS, AgiStats


class AgiCollector(Collector):
    def __init__(self, stats: AgiStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        s = self._stats
        yield CounterMetricFamily("puente_agi_connections", "FastAGI connections accepted", value=s.connections_total)
        yield GaugeMetricFamily("puente_agi_connections_active", "FastAGI connections open now",
                                value=s.connections_active)
        yield CounterMetricFamily("puente_agi_caller_hangups", "AGI calls that ended by a caller hangup",
                                  value=s.caller_hangups)
        errors = CounterMetricFamily("puente_agi_errors", "FastAGI errors by kind", labels=["kind"])
        for kind, count in sorted(s.errors.items()):
            errors.add_metric([kind.value], count)
        yield errors
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], s.latency_buckets, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily("puente_agi_command_seconds",
                                    "AGI round trip of commands Asterisk answers at once (long ones: see "
                                    "puente_agi_long_command_seconds)", buckets=buckets, sum_value=s.latency_sum)
        long = HistogramMetricFamily("puente_agi_long_command_seconds",
                                     "AGI commands that last as long as their media or the caller (prompts, key "
                                     "waits, hold polls, Dial, AudioSocket)", labels=["command"])
        for command, (counts, total) in sorted(s.long_latency.items()):
            cumulative, kind_buckets = 0, []
            for bound, count in zip([*map(str, LONG_BUCKETS), "+Inf"], counts, strict=True):
                cumulative += count
                kind_buckets.append((bound, cumulative))
            long.add_metric([command], kind_buckets, sum_value=total[0])
        yield long
