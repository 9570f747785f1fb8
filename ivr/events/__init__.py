"""Typed events on an in-process bus (the call recorder, the metrics and MQTT publishing subscribe to
it; a call's facts are in :mod:`ivr.events.types` and :mod:`ivr.events.flow`)."""

from ivr.events.bus import EventBus, Subscription
from ivr.events.types import Event

__all__ = ["Event", "EventBus", "Subscription"]
