"""Typed events on an in-process bus (MQTT publishing and metrics subscribe to it)."""

from ivr.events.bus import EventBus, Subscription
from ivr.events.types import Event

__all__ = ["Event", "EventBus", "Subscription"]
