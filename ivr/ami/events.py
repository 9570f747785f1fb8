"""AMI messages and typed events, parsed in small pure functions.

Header names are case-insensitive on the wire; :class:`AmiMessage` keeps them in order (a header may
repeat, e.g. ``Variable``) and looks them up case-insensitively.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AmiAction = Mapping[str, str | list[str]]
"""An action as sent: its headers, a repeated one (``Variable``) as a list."""


@dataclass(frozen=True, slots=True)
class AmiMessage:
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Any]]) -> AmiMessage:
        out: list[tuple[str, str]] = []
        for key, value in pairs:
            if isinstance(value, list | tuple):
                out.extend((str(key), str(v)) for v in value)
            else:
                out.append((str(key), str(value)))
        return cls(tuple(out))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> AmiMessage:
        return cls.of((k, v) for k, v in mapping.items() if k != "content")

    def get(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.headers}


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Base of typed events. ``raw`` is the message it came from (None for synthetic events)."""

    raw: AmiMessage | None


@dataclass(frozen=True, slots=True)
class RawEvent(AmiEvent):
    """An event we have no type for; look inside ``raw``."""

    name: str


@dataclass(frozen=True, slots=True)
class DeviceStateChange(AmiEvent):
    device: str  # PJSIP/agent1, Queue:support_avail ...
    state: str  # NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD, UNKNOWN


@dataclass(frozen=True, slots=True)
class Hangup(AmiEvent):
    channel: str
    uniqueid: str
    linkedid: str | None
    cause: int | None
    cause_txt: str | None


@dataclass(frozen=True, slots=True)
class OriginateResponse(AmiEvent):
    action_id: str | None
    success: bool
    reason: int | None  # 4 answered, 3 no answer / timeout, 0 busy or unavailable (see DESIGN)
    channel: str | None
    uniqueid: str | None  # None for "<unknown>"


@dataclass(frozen=True, slots=True)
class QueueCaller(AmiEvent):
    """QueueCallerJoin / QueueCallerLeave / QueueCallerAbandon (Asterisk's own queues)."""

    name: str
    queue: str
    channel: str
    uniqueid: str
    position: int | None
    count: int | None = None
    original_position: int | None = None
    hold_seconds: int | None = None  # QueueCallerAbandon HoldTime: seconds waited (not an epoch)


@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    uptime: int | None


@dataclass(frozen=True, slots=True)
class Shutdown(AmiEvent):
    cleanly: bool
    restart: bool


@dataclass(frozen=True, slots=True)
class CoreShowChannel(AmiEvent):
    channel: str
    uniqueid: str
    linkedid: str | None
    state: str | None  # ChannelStateDesc: Up, Ring, Ringing...
    application: str | None
    application_data: str | None
    duration: str | None


# ------------------------------------------------------------------ synthetic (connection life)
@dataclass(frozen=True, slots=True)
class AmiConnected(AmiEvent):
    session: int


@dataclass(frozen=True, slots=True)
class AmiDisconnected(AmiEvent):
    session: int
    reason: str


class ResyncReason(enum.StrEnum):
    LOGIN = "login"
    FULLY_BOOTED = "fully_booted"  # Asterisk finished booting (after a restart it may follow the login)
    RELOAD = "reload"  # a module (e.g. res_pjsip) was reloaded
    PERIODIC = "periodic"


@dataclass(frozen=True, slots=True)
class Resynced(AmiEvent):
    """Device (and, except for the periodic one, channel) state listed again: after every login,
    after FullyBooted and module reloads, and periodically. ``channels`` is empty when they were
    not listed (periodic: the cheap DeviceStateList only)."""

    session: int
    devices: tuple[DeviceStateChange, ...]
    channels: tuple[CoreShowChannel, ...]
    reason: ResyncReason = ResyncReason.LOGIN


@dataclass(frozen=True, slots=True)
class Reload(AmiEvent):
    module: str | None
    status: str | None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _unknown_none(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def parse_device_state(m: AmiMessage) -> DeviceStateChange:
    return DeviceStateChange(m, device=m.get("Device", "") or "", state=(m.get("State", "") or "").upper())


def parse_hangup(m: AmiMessage) -> Hangup:
    return Hangup(m, channel=m.get("Channel", "") or "", uniqueid=m.get("Uniqueid", "") or "",
                  linkedid=m.get("Linkedid"), cause=_int(m.get("Cause")), cause_txt=m.get("Cause-txt"))


def parse_originate_response(m: AmiMessage) -> OriginateResponse:
    return OriginateResponse(m, action_id=m.action_id, success=(m.response or "").lower() == "success",
                             reason=_int(m.get("Reason")), channel=_unknown_none(m.get("Channel")),
                             uniqueid=_unknown_none(m.get("Uniqueid")))


def parse_queue_caller(m: AmiMessage) -> QueueCaller:
    return QueueCaller(m, name=m.event or "", queue=m.get("Queue", "") or "", channel=m.get("Channel", "") or "",
                       uniqueid=m.get("Uniqueid", "") or "", position=_int(m.get("Position")),
                       count=_int(m.get("Count")), original_position=_int(m.get("OriginalPosition")),
                       hold_seconds=_int(m.get("HoldTime")))


def parse_core_show_channel(m: AmiMessage) -> CoreShowChannel:
    return CoreShowChannel(m, channel=m.get("Channel", "") or "", uniqueid=m.get("Uniqueid", "") or "",
                           linkedid=m.get("Linkedid"), state=m.get("ChannelStateDesc"),
                           application=m.get("Application"), application_data=m.get("ApplicationData"),
                           duration=m.get("Duration"))


def parse_event(m: AmiMessage) -> AmiEvent:
    name = m.event or ""
    match name.lower():
        case "devicestatechange":
            return parse_device_state(m)
        case "hangup":
            return parse_hangup(m)
        case "originateresponse":
            return parse_originate_response(m)
        case "queuecallerjoin" | "queuecallerleave" | "queuecallerabandon":
            return parse_queue_caller(m)
        case "fullybooted":
            return FullyBooted(m, uptime=_int(m.get("Uptime")))
        case "shutdown":
            return Shutdown(m, cleanly=(m.get("Shutdown", "") or "").lower() == "cleanly",
                            restart=(m.get("Restart", "") or "").lower() == "true")
        case "coreshowchannel":
            return parse_core_show_channel(m)
        case "reload":
            return Reload(m, module=m.get("Module"), status=m.get("Status"))
    return RawEvent(m, name=name)


def event_name(event: AmiEvent) -> str:
    """The name subscribers use: the wire name for events from Asterisk, the class name otherwise."""
    if isinstance(event, RawEvent):
        return event.name
    if isinstance(event, QueueCaller):
        return event.name
    if event.raw is not None and event.raw.event:
        return event.raw.event
    return type(event).__name__
