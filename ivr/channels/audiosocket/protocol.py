"""AudioSocket frames: kind (1 byte) + payload length (2 bytes, big-endian) + payload.

Kinds seen from a real Asterisk 22 (``/work/shared/asterisk/audiosocket-frames-*.txt``): 0x01 the
call's uuid (16 bytes, first), 0x10 signed linear 8 kHz audio (320 bytes = 20 ms), 0x03 a DTMF
digit (1 ASCII byte, Asterisk -> server only), 0x00 hangup (empty), 0xff error. A caller hangup
just closes TCP. The server may send only 0x00 and audio (0x10-0x18).
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass

HEADER = struct.Struct(">BH")
MAX_PAYLOAD = 0xFFFF
AUDIO_KINDS = range(0x10, 0x19)  # 0x10 slin 8 kHz ... 0x18: other slin rates


class FrameKind(enum.IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class ProtocolError(Exception):
    """The peer sent something AudioSocket does not allow; the connection is closed."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int  # a FrameKind, or another audio kind in 0x11-0x18
    payload: bytes = b""

    @property
    def is_audio(self) -> bool:
        return self.kind in AUDIO_KINDS


def encode(kind: int, payload: bytes = b"") -> bytes:
    if not 0 <= kind <= 0xFF:
        raise ValueError(f"frame kind out of range: {kind}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload too long for one frame: {len(payload)} bytes")
    return HEADER.pack(kind, len(payload)) + payload


def encode_audio(pcm: bytes) -> bytes:
    return encode(FrameKind.AUDIO, pcm)


def encode_hangup() -> bytes:
    return encode(FrameKind.HANGUP)


def encode_uuid(value: uuid.UUID) -> bytes:
    return encode(FrameKind.UUID, value.bytes)


def encode_dtmf(digit: str) -> bytes:
    return encode(FrameKind.DTMF, digit.encode("ascii"))


def parse_uuid(frame: Frame) -> uuid.UUID:
    if frame.kind != FrameKind.UUID:
        raise ProtocolError(f"expected the uuid frame first, got kind 0x{frame.kind:02x}")
    if len(frame.payload) != 16:
        raise ProtocolError(f"uuid frame of {len(frame.payload)} bytes (want 16)")
    return uuid.UUID(bytes=frame.payload)


def parse_dtmf(frame: Frame) -> str:
    if len(frame.payload) != 1:
        raise ProtocolError(f"DTMF frame of {len(frame.payload)} bytes (want 1)")
    digit = frame.payload.decode("ascii", errors="replace")
    if digit not in "0123456789*#ABCD":
        raise ProtocolError(f"DTMF frame with {frame.payload!r}")
    return digit


def check_inbound(frame: Frame) -> Frame:
    """Kinds Asterisk may send us: anything else is a protocol error."""
    if frame.kind in (FrameKind.HANGUP, FrameKind.UUID, FrameKind.DTMF, FrameKind.ERROR) or frame.is_audio:
        return frame
    raise ProtocolError(f"unknown frame kind 0x{frame.kind:02x}")


class FrameDecoder:
    """Incremental parser: feed bytes as they arrive (any split), take whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append(Frame(kind, bytes(self._buffer[HEADER.size:end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered (non-zero at EOF = truncated frame)."""
        return len(self._buffer)
