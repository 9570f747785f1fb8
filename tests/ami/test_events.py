"""Typed AMI events parsed from real Asterisk 22 messages (the shared captures)."""

from __future__ import annotations

from pathlib import Path

from ivr.ami.events import (
    AmiMessage,
    CoreShowChannel,
    DeviceStateChange,
    Hangup,
    OriginateResponse,
    QueueCaller,
    RawEvent,
    Shutdown,
    event_name,
    parse_event,
)
from tests.support.ami_server import events, load_capture


def message(text: str) -> AmiMessage:
    return AmiMessage.of(tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "")  # type: ignore[misc]
                         for line in text.splitlines())


def test_device_state_changes_from_registration_capture(asterisk_captures: Path) -> None:
    blocks = load_capture(asterisk_captures / "round2" / "ami-devstate-registration.txt")
    parsed = [parse_event(message(b.text)) for b in events(blocks, "DeviceStateChange")]
    assert all(isinstance(p, DeviceStateChange) for p in parsed)
    agent2 = [(p.device, p.state) for p in parsed if isinstance(p, DeviceStateChange) and p.device == "PJSIP/agent2"]
    assert ("PJSIP/agent2", "NOT_INUSE") in agent2 and ("PJSIP/agent2", "UNAVAILABLE") in agent2


def test_abandon_hold_time_is_seconds(asterisk_captures: Path) -> None:
    blocks = load_capture(asterisk_captures / "ami-events-queue-abandon-agent-ringing.txt")
    (abandon,) = [parse_event(message(b.text)) for b in events(blocks, "QueueCallerAbandon")]
    assert isinstance(abandon, QueueCaller)
    assert abandon.queue == "support" and abandon.hold_seconds == 18 and abandon.position == 1
    assert abandon.original_position == 1 and event_name(abandon) == "QueueCallerAbandon"
    hangups = [parse_event(message(b.text)) for b in events(blocks, "Hangup")]
    caller = next(h for h in hangups if isinstance(h, Hangup) and h.channel == "PJSIP/sipp-0000000a")
    assert isinstance(caller, Hangup) and caller.cause == 127 and caller.cause_txt == "Interworking, unspecified"


def test_originate_responses(asterisk_captures: Path) -> None:
    ok = events(load_capture(asterisk_captures / "round2" / "ami-originate-ok-pjsip.txt"), "OriginateResponse")
    busy = events(load_capture(asterisk_captures / "round2" / "ami-originate-fail-busy.txt"), "OriginateResponse")
    nolistener = events(load_capture(asterisk_captures / "round2" / "ami-originate-fail-nolistener.txt"),
                        "OriginateResponse")
    good = parse_event(message(ok[0].text))
    assert isinstance(good, OriginateResponse)
    assert good.success and good.reason == 4 and good.action_id == "orig-ok-pjsip"
    assert good.channel == "PJSIP/agent1-0000001b" and good.uniqueid == "1795426452.27"
    bad = parse_event(message(busy[0].text))
    assert isinstance(bad, OriginateResponse) and not bad.success and bad.reason == 0
    timeout = parse_event(message(nolistener[0].text))
    assert isinstance(timeout, OriginateResponse) and timeout.reason == 3 and timeout.uniqueid is None


def test_shutdown_core_show_channel_and_unknown(asterisk_captures: Path) -> None:
    restart = load_capture(asterisk_captures / "round2" / "ami-reconnect-core-restart-idle.txt")
    (shutdown,) = [parse_event(message(b.text)) for b in events(restart, "Shutdown")]
    assert isinstance(shutdown, Shutdown) and shutdown.cleanly and shutdown.restart
    answered = load_capture(asterisk_captures / "ami-events-queue-answered.txt")
    channels = [parse_event(message(b.text)) for b in events(answered, "CoreShowChannel")]
    assert [c.application for c in channels if isinstance(c, CoreShowChannel)] == ["Queue", "AppQueue"]
    peer = parse_event(message(events(restart, "PeerStatus")[0].text))
    assert isinstance(peer, RawEvent) and peer.name == "PeerStatus" and peer.raw is not None
    assert peer.raw.get("peer") == "PJSIP/agent1"
