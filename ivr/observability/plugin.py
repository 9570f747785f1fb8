from __future__ import annotations

from ivr.composition import Container
from ivr.observability.health import router
from ivr.observability.looplag import LoopLagMonitor
from ivr.observability.metrics import Metrics
from ivr.observability.mqtt import MqttPublisher, MqttTarget


async def wire(container: Container) -> None:
    settings = container.settings
    metrics = Metrics()
    container.services["metrics"] = metrics
    container.services["metrics_registry"] = metrics.registry
    container.bus.add_listener(metrics.observe)
    container.routers.append(router)
    monitor = LoopLagMonitor(metrics.event_loop_lag, interval=settings.supervision.loop_lag_interval)
    container.services["loop_lag"] = monitor
    container.components.append(monitor)
    if settings.mqtt.url:
        publisher = MqttPublisher(
            container.bus, MqttTarget.from_url(settings.mqtt.url), site=settings.mqtt.site,
            buffer_size=settings.mqtt.buffer_size, max_delay=settings.mqtt.reconnect_max_delay,
            on_drop=metrics.mqtt_dropped.inc, on_publish=metrics.mqtt_published.inc,
        )
        container.services["mqtt"] = publisher
        container.components.append(publisher)
