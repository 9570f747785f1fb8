"""The framed messages between the SIP endpoint and its media process (``mediachild``).

One message per datagram of a ``SOCK_SEQPACKET`` Unix socket pair (boundaries kept, descriptors
passed with ``SCM_RIGHTS``). Every message starts with a kind byte and, but for the stats and
close messages, a stream id. Audio goes in chunks of at most :data:`CHUNK` bytes so no message
comes near the socket's size limit; a stream starts playing with its first chunk.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CHUNK = 32_000  # audio bytes per message (4 s of G.711)
MAX_MESSAGE = CHUNK + 64
BUFFER = 1 << 20  # the pair's socket buffers: a prompt's whole audio fits without waiting

# loop -> media process
START, AUDIO, CANCEL, CLOSE = 1, 2, 3, 4
# media process -> loop
DONE, FAILED, STATS, PROGRESS, READY, FIRST = 11, 12, 13, 14, 15, 16

KIND = struct.Struct("!B")
ID = struct.Struct("!BI")
# kind, id, ssrc, payload type, next sequence, next timestamp, audio length; then the sockaddr
START_HEADER = struct.Struct("!BIIBHII")
# kind, id, completed, frames sent, next sequence, next timestamp
DONE_MESSAGE = struct.Struct("!BIBIHI")
STATS_HEADER = struct.Struct("!BI")  # kind, count; then ``count`` lateness values (doubles)
LATENESS = struct.Struct("!d")
MAX_STATS = (CHUNK // LATENESS.size) - 1
FIRST_MESSAGE = struct.Struct("!BId")  # kind, id, time.monotonic() its first frame left (one clock per host)


@dataclass(frozen=True, slots=True)
class StartStream:
    stream: int
    ssrc: int
    payload_type: int
    sequence: int
    timestamp: int
    length: int  # audio bytes to come in AUDIO messages
    sockaddr: bytes  # the remote, as ``udpsend.sockaddr`` builds it

    def encode(self) -> bytes:
        return START_HEADER.pack(START, self.stream, self.ssrc, self.payload_type, self.sequence, self.timestamp,
                                 self.length) + self.sockaddr

    @classmethod
    def decode(cls, data: bytes) -> StartStream:
        _, stream, ssrc, pt, sequence, timestamp, length = START_HEADER.unpack_from(data)
        return cls(stream, ssrc, pt, sequence, timestamp, length, bytes(data[START_HEADER.size :]))


@dataclass(frozen=True, slots=True)
class StreamDone:
    stream: int
    completed: bool
    frames: int
    sequence: int  # the next frame's, for the session's later sends (DTMF, the next prompt)
    timestamp: int

    def encode(self) -> bytes:
        return DONE_MESSAGE.pack(DONE, self.stream, int(self.completed), self.frames, self.sequence, self.timestamp)

    @classmethod
    def decode(cls, data: bytes) -> StreamDone:
        _, stream, completed, frames, sequence, timestamp = DONE_MESSAGE.unpack_from(data)
        return cls(stream, bool(completed), frames, sequence, timestamp)


def audio(stream: int, chunk: bytes) -> bytes:
    return ID.pack(AUDIO, stream) + chunk


def cancel(stream: int) -> bytes:
    return ID.pack(CANCEL, stream)


def first(stream: int, at: float) -> bytes:
    return FIRST_MESSAGE.pack(FIRST, stream, at)


def decode_first(data: bytes) -> tuple[int, float]:
    _, stream, at = FIRST_MESSAGE.unpack_from(data)
    return stream, at


def failed(stream: int, error: str) -> bytes:
    return ID.pack(FAILED, stream) + error.encode("utf-8", "replace")[:500]


def stats(lateness: list[float]) -> bytes:
    return STATS_HEADER.pack(STATS, len(lateness)) + struct.pack(f"!{len(lateness)}d", *lateness)


def progress(frames: dict[int, int]) -> bytes:
    """Frames sent so far per stream (a stream a dead process was playing resumes from there)."""
    items = list(frames.items())[: MAX_STATS // 2]
    return STATS_HEADER.pack(PROGRESS, len(items)) + b"".join(struct.pack("!II", k, v) for k, v in items)


def decode_progress(data: bytes) -> dict[int, int]:
    _, count = STATS_HEADER.unpack_from(data)
    values = struct.unpack_from(f"!{2 * count}I", data, STATS_HEADER.size)
    return dict(zip(values[::2], values[1::2], strict=True))


def decode_stats(data: bytes) -> tuple[float, ...]:
    _, count = STATS_HEADER.unpack_from(data)
    return struct.unpack_from(f"!{count}d", data, STATS_HEADER.size)
