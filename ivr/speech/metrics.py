"""Exports the speech pool's counters to Prometheus at scrape time (``puente_speech_*``)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ivr.speech.runner import SpeechRunner


class SpeechCollector(Collector):
    def __init__(self, runner: SpeechRunner) -> None:
        self._runner = runner

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        r, s = self._runner, self._runner.stats
        shed = CounterMetricFamily("puente_speech_shed", "Menu turns that fell back to keys: speech pool saturated",
                                   labels=["stage"])
        shed.add_metric(["open"], s.shed_open)
        shed.add_metric(["endpoint"], s.shed_late)
        yield shed
        yield CounterMetricFamily("puente_speech_decoded", "Utterances decoded", value=s.decoded)
        yield CounterMetricFamily("puente_speech_fallback", "Utterances a cheaper engine decoded (Whisper's queue "
                                  "was long: PocketSphinx heard them)", value=s.fell_back)
        yield CounterMetricFamily("puente_speech_failed", "Utterances whose decoding failed (keys that turn)",
                                  value=s.failed)
        yield GaugeMetricFamily("puente_speech_pending", "Utterances waiting for or in a decoder", value=r.pending)
        yield GaugeMetricFamily("puente_speech_open", "Recognizers listening (one per menu turn)", value=r.live)
        latency = GaugeMetricFamily("puente_speech_latency_seconds",
                                    "End of the caller's audio to the result, recent window", labels=["quantile"])
        for q in (50, 95, 99):
            latency.add_metric([str(q / 100)], s.percentile(q))
        yield latency
