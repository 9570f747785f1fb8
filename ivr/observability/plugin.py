from __future__ import annotations

from dataclasses import dataclass

from ivr.events import EventBus
from ivr.observability.looplag import LoopLagMonitor
from ivr.observability.metrics import Metrics
from ivr.observability.mqtt import MqttPublisher, MqttTarget
from ivr.settings import Settings
from ivr.supervision import ComponentStates


@dataclass(frozen=True)
class ObservabilityDomain:
    metrics: Metrics
    loop_lag: LoopLagMonitor
    mqtt: MqttPublisher | None  # None: no IVR_MQTT__URL
    # which supervised components run now; filled by `ivr serve` (empty when the app runs alone)
    component_states: ComponentStates

    @property
    def components(self) -> tuple[LoopLagMonitor | MqttPublisher, ...]:
        return (self.loop_lag,) if self.mqtt is None else (self.loop_lag, self.mqtt)


def build(settings: Settings, bus: EventBus) -> ObservabilityDomain:
    metrics = Metrics()
    bus.add_listener(metrics.observe)
    monitor = LoopLagMonitor(metrics.event_loop_lag, interval=settings.supervision.loop_lag_interval)
    publisher = None
    if settings.mqtt.url:
        publisher = MqttPublisher(
            bus, MqttTarget.from_url(settings.mqtt.url), site=settings.mqtt.site,
            buffer_size=settings.mqtt.buffer_size, max_delay=settings.mqtt.reconnect_max_delay,
            on_drop=metrics.mqtt_dropped.inc, on_publish=metrics.mqtt_published.inc,
        )
    return ObservabilityDomain(metrics=metrics, loop_lag=monitor, mqtt=publisher,
                               component_states=ComponentStates())
