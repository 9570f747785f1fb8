"""Prometheus metrics fed from the event bus (so no domain needs to know about Prometheus)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ivr.events.types import (
    AgentStateChanged,
    CallbackLifecycle,
    CallEnded,
    CallsLostOnRestart,
    CallStarted,
    DeflectionLifecycle,
    Event,
    InputReceived,
    ProtocolError,
    QueueJoined,
    QueueLeft,
)

# The event loop's lag: a few ms is normal, tens of ms already delay every live call's audio.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WAIT_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)


@dataclass
class EwtTally:
    count: int = 0
    in_band: int = 0
    within_25: int = 0
    error: float = 0.0

    def add(self, *, in_band: bool, within_25: bool, error: float) -> None:
        self.count += 1
        self.in_band += in_band
        self.within_25 += within_25
        self.error += error


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls = Counter("puente_calls_started", "Calls started", ["backend"], registry=r)
        self.calls_ended = Counter("puente_calls_ended", "Calls ended by disposition", ["disposition"], registry=r)
        self.calls_lost_on_restart = Counter("puente_calls_lost_on_restart",
                                             "Calls a dead process left open, closed at reconciliation", registry=r)
        self.call_duration = Histogram("puente_call_duration_seconds", "Call duration", buckets=WAIT_BUCKETS,
                                       registry=r)
        self.live_calls = Gauge("puente_calls_live", "Calls in progress", registry=r)
        self.inputs = Counter("puente_inputs", "Caller inputs by mode", ["mode", "matched"], registry=r)
        self.queue_joined = Counter("puente_queue_joined", "Callers who joined a queue", ["queue"], registry=r)
        self.queue_waiting = Gauge("puente_queue_waiting", "Callers waiting now", ["queue"], registry=r)
        self.queue_wait = Histogram("puente_queue_wait_seconds", "Time waited in queue", ["queue", "outcome"],
                                    buckets=WAIT_BUCKETS, registry=r)
        self.queue_left = Counter("puente_queue_left", "Queue exits by outcome", ["queue", "outcome"], registry=r)
        self.abandons = Counter("puente_queue_abandons", "Callers who hung up while queued", ["queue"], registry=r)
        self.answered_in_sl = Counter("puente_queue_answered_within_service_level",
                                      "Answered within the queue's service-level target", ["queue"], registry=r)
        self.answered = Counter("puente_queue_answered", "Answered by an agent", ["queue"], registry=r)
        self.ewt_error = Histogram("puente_ewt_abs_error_seconds", "|predicted - actual| wait", ["queue"],
                                   buckets=WAIT_BUCKETS, registry=r)
        # the truth of what callers heard (the first announcement of each answered caller); the
        # per-day figures of every announcement are in the store (wallboard, /api/v1/queues/status)
        self.ewt_heard = Counter("puente_ewt_announced_answered", "Answered callers who heard a wait", ["queue"],
                                 registry=r)
        self.ewt_in_band = Counter("puente_ewt_within_band", "... whose wait fell inside the band they heard",
                                   ["queue"], registry=r)
        self.ewt_within_25 = Counter("puente_ewt_within_25_percent", "... whose wait was within 25% of the estimate",
                                     ["queue"], registry=r)
        self.ewt_heard_error = Histogram("puente_ewt_announced_abs_error_seconds",
                                         "|announced estimate - wait that followed| for answered callers", ["queue"],
                                         buckets=WAIT_BUCKETS, registry=r)
        self.ewt_today = Gauge("puente_ewt_accuracy_today", "Today's (UTC) announced-wait accuracy per queue",
                               ["queue", "figure"], registry=r)
        self._today: dict[str, tuple[str, EwtTally]] = {}
        self.agent_states = Counter("puente_agent_state_changes", "Agent state changes", ["state"], registry=r)
        self.callbacks = Counter("puente_callbacks", "Callback lifecycle", ["state", "outcome"], registry=r)
        self.deflections = Counter("puente_deflections", "Deflection stages", ["stage", "channel"], registry=r)
        self.protocol_errors = Counter("puente_protocol_errors", "AGI/SIP/AMI/AudioSocket errors", ["protocol"],
                                       registry=r)
        # Command latency and the AGI/SIP counters come from the backends' own collectors, which
        # their plugins register on this registry (``container.observability.metrics.registry``).
        self.mqtt_dropped = Counter("puente_mqtt_dropped", "Events dropped while MQTT was unreachable", registry=r)
        self.mqtt_published = Counter("puente_mqtt_published", "Events published to MQTT", registry=r)
        self.component_restarts = Counter("puente_component_restarts", "Server components restarted after a failure",
                                          ["component"], registry=r)
        self.event_loop_lag = Histogram("puente_event_loop_lag_seconds",
                                        "How late the event loop ran a callback scheduled for a given time",
                                        buckets=LAG_BUCKETS, registry=r)

    def observe(self, event: Event) -> None:
        match event:
            case CallStarted():
                self.calls.labels(event.backend).inc()
                self.live_calls.inc()
            case CallEnded():
                self.calls_ended.labels(event.disposition).inc()
                self.call_duration.observe(event.duration_seconds)
                self.live_calls.dec()
            case CallsLostOnRestart():
                self.calls_lost_on_restart.inc(event.count)
            case InputReceived():
                self.inputs.labels(event.mode, str(event.matched).lower()).inc()
            case QueueJoined():
                self.queue_joined.labels(event.queue).inc()
                self.queue_waiting.labels(event.queue).inc()
            case QueueLeft():
                self._queue_left(event)
            case AgentStateChanged():
                self.agent_states.labels(event.state).inc()
            case CallbackLifecycle():
                self.callbacks.labels(event.state, event.outcome or "").inc()
            case DeflectionLifecycle():
                self.deflections.labels(event.stage, event.channel or "").inc()
            case ProtocolError():
                self.protocol_errors.labels(event.protocol).inc()
            case _:
                pass

    def _queue_left(self, event: QueueLeft) -> None:
        self.queue_waiting.labels(event.queue).dec()
        self.queue_left.labels(event.queue, event.outcome).inc()
        self.queue_wait.labels(event.queue, event.outcome).observe(event.waited_seconds)
        if event.outcome == "abandoned":
            self.abandons.labels(event.queue).inc()
        if event.outcome == "connected":
            self.answered.labels(event.queue).inc()
            if event.within_service_level:
                self.answered_in_sl.labels(event.queue).inc()
            if event.ewt_predicted is not None:
                self.ewt_error.labels(event.queue).observe(abs(event.ewt_predicted - event.waited_seconds))
            self._heard(event)

    def _heard(self, event: QueueLeft) -> None:
        if event.ewt_announced is None or event.ewt_band_low is None or event.waited_after_announcement is None:
            return
        actual, said = event.waited_after_announcement, event.ewt_announced
        in_band = event.ewt_band_low <= actual and (event.ewt_band_high is None or actual <= event.ewt_band_high)
        within = abs(said - actual) <= 0.25 * actual
        q = event.queue
        self.ewt_heard.labels(q).inc()
        self.ewt_heard_error.labels(q).observe(abs(said - actual))
        if in_band:
            self.ewt_in_band.labels(q).inc()
        if within:
            self.ewt_within_25.labels(q).inc()
        day = event.at.date().isoformat()
        current = self._today.get(q)
        tally = current[1] if current is not None and current[0] == day else EwtTally()
        tally.add(in_band=in_band, within_25=within, error=abs(said - actual))
        self._today[q] = (day, tally)
        self.ewt_today.labels(q, "within_band_ratio").set(tally.in_band / tally.count)
        self.ewt_today.labels(q, "within_25_percent_ratio").set(tally.within_25 / tally.count)
        self.ewt_today.labels(q, "mae_seconds").set(tally.error / tally.count)
        self.ewt_today.labels(q, "answered").set(tally.count)
