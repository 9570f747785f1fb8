"""RTP packets (RFC 3550) and telephone-events (RFC 4733/2833) as pure values and functions."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
_HEADER = struct.Struct("!BBHII")
DTMF_EVENTS = "0123456789*#ABCD"


class RtpParseError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < _HEADER.size:
        raise RtpParseError("short RTP packet")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpParseError("not RTP version 2")
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise RtpParseError("truncated extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        if end <= offset:
            raise RtpParseError("bad padding")
        end -= data[-1]
    if end < offset:
        raise RtpParseError("truncated RTP packet")
    return RtpPacket(second & 0x7F, bool(second & 0x80), sequence, timestamp, ssrc, data[offset:end])


def build_rtp(packet: RtpPacket) -> bytes:
    second = (0x80 if packet.marker else 0) | (packet.payload_type & 0x7F)
    header = _HEADER.pack(
        RTP_VERSION << 6, second, packet.sequence & 0xFFFF, packet.timestamp & 0xFFFFFFFF, packet.ssrc
    )
    return header + packet.payload


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    digit: str
    end: bool
    volume: int
    duration: int  # in timestamp units (8 kHz samples)


def parse_telephone_event(payload: bytes) -> TelephoneEvent | None:
    """RFC 4733 §2.3: event (8), E|R|volume (8), duration (16). Unknown events -> None."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack_from("!BBH", payload)
    if event >= len(DTMF_EVENTS):
        return None
    return TelephoneEvent(DTMF_EVENTS[event], bool(flags & 0x80), flags & 0x3F, duration)


def build_telephone_event(digit: str, *, end: bool, duration: int, volume: int = 10) -> bytes:
    return struct.pack("!BBH", DTMF_EVENTS.index(digit), (0x80 if end else 0) | (volume & 0x3F), duration)


class DtmfDetector:
    """Turns telephone-event packets into digits, once per event.

    An event is its RTP timestamp and its key (all packets of one press share both, including the
    three redundant end packets): a different key is always a new press, whatever its timestamp
    (two sources may reuse one), and so is a newer timestamp. The same timestamp and key seen again
    after ``reuse_after`` seconds of silence also counts as a new press: a SIPp replaying one pcap
    twice (Asterisk would drop that second press; the shipped scenarios no longer do it).
    """

    def __init__(self, reuse_after: float = 0.5) -> None:
        self._reuse_after = reuse_after
        self._last: tuple[int, str] | None = None
        self._last_seen = 0.0

    def feed(self, packet: RtpPacket, now: float) -> str | None:
        event = parse_telephone_event(packet.payload)
        if event is None:
            return None
        key = (packet.timestamp, event.digit)
        same = key == self._last and now - self._last_seen < self._reuse_after
        self._last_seen = now
        if same:
            return None
        self._last = key
        return event.digit
