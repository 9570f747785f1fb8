"""Publishing the callbacks' lifecycle on the event bus (MQTT topic ``callback/state``)."""

from __future__ import annotations

from ivr.events import EventBus
from ivr.events.types import CallbackLifecycle


def publish_state(bus: EventBus, callback_id: str, queue: str, state: str, outcome: str | None = None) -> None:
    bus.publish(CallbackLifecycle(callback_id=callback_id, queue=queue, state=state, outcome=outcome))
