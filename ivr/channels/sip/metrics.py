"""Exports the SIP endpoint's counters to Prometheus at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ivr.channels.sip.flood import SipFloodGuard
from ivr.channels.sip.stats import EndpointStats, PacingStats


class SipCollector(Collector):
    def __init__(self, stats: EndpointStats, pacing: PacingStats | None, flood: SipFloodGuard | None = None) -> None:
        self._stats = stats
        self._pacing = pacing
        self._flood = flood

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self._stats
        yield CounterMetricFamily("puente_sip_calls_in", "Inbound SIP calls accepted", value=s.calls_in)
        yield CounterMetricFamily("puente_sip_calls_rejected", "Inbound calls refused past max_calls (503)",
                                  value=s.calls_rejected)
        yield CounterMetricFamily("puente_sip_malformed", "Malformed SIP messages (400 or dropped)",
                                  value=s.malformed)
        yield CounterMetricFamily("puente_sip_send_errors", "SIP messages the socket refused to send",
                                  value=s.send_errors)
        yield CounterMetricFamily("puente_sip_call_faults", "SIP calls ended by an unexpected error (that call only)",
                                  value=s.call_faults)
        yield CounterMetricFamily("puente_sip_internal_errors", "SIP messages dropped after an unexpected error",
                                  value=s.internal_errors)
        if self._flood is not None:
            refused = CounterMetricFamily("puente_sip_flood_refused",
                                          "SIP datagrams dropped unparsed by the flood guard", labels=["limit"])
            refused.add_metric(["source"], self._flood.per_source.refused)
            refused.add_metric(["address"], self._flood.per_address.refused)
            yield refused
        if self._pacing is not None:
            yield CounterMetricFamily("puente_rtp_frames_sent", "RTP frames sent", value=self._pacing.frames_sent)
            yield CounterMetricFamily("puente_rtp_send_errors", "RTP streams that failed to send (their calls ended)",
                                      value=self._pacing.send_errors)
            lateness = GaugeMetricFamily("puente_rtp_send_lateness_seconds",
                                         "RTP send lateness against the 20 ms deadlines, recent window",
                                         labels=["quantile"])
            for q in (50, 99):
                lateness.add_metric([str(q / 100)], self._pacing.percentile(q))
            yield lateness
            starts = GaugeMetricFamily("puente_prompt_start_seconds",
                                       "From a prompt asked for (turn start, or the input before it) to its first "
                                       "RTP frame, recent window", labels=["quantile"])
            for q in (50, 99):
                starts.add_metric([str(q / 100)], self._pacing.prompt_start_percentile(q))
            yield starts
