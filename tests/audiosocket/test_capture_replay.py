"""Replays the inbound side of the real Asterisk 22 AudioSocket captures against the server."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.channels.audiosocket.protocol import encode
from ivr.channels.audiosocket.server import AudioIn, AudioSocketServer, Closed, CloseReason, DtmfIn, SocketEvent
from tests.audiosocket.asterisk_side import FakeAsterisk

_RECV = re.compile(r"RECV kind=0x(?P<kind>[0-9a-f]{2}) \S+ len=(?P<len>\d+)(?: (?P<rest>.*))?$")


@dataclass(frozen=True)
class Capture:
    frames: list[tuple[int, bytes]]  # (kind, payload) as Asterisk sent them
    caller_hung_up: bool  # "socket closed by Asterisk" with no hangup frame sent by the server


def load_capture(path: Path) -> Capture:
    frames: list[tuple[int, bytes]] = []
    sent_hangup = False
    for line in path.read_text().splitlines():
        if "SENT hangup frame" in line:
            sent_hangup = True
        match = _RECV.search(line)
        if match is None:
            continue
        kind, length, rest = int(match["kind"], 16), int(match["len"]), match["rest"] or ""
        fields = dict(part.split("=", 1) for part in rest.split() if "=" in part)
        if kind == 0x01:
            payload = uuid.UUID(fields["uuid"]).bytes
        elif kind == 0x03:
            payload = bytes.fromhex(fields["raw"])
        else:  # audio: the capture keeps the first 8 bytes; the rest is zero-filled
            head = bytes.fromhex(fields["first8"])
            payload = head + bytes(length - len(head))
        assert len(payload) == length
        frames.append((kind, payload))
    return Capture(frames, caller_hung_up=not sent_hangup)


@pytest.mark.parametrize("name", ["audiosocket-frames-dtmf-no-echo.txt", "audiosocket-frames-with-rtp-echo.txt",
                                  "audiosocket-frames-caller-hangup.txt"])
async def test_replay_capture(server: AudioSocketServer, asterisk_captures: Path, name: str) -> None:
    capture = load_capture(asterisk_captures / name)
    kind, payload = capture.frames[0]
    assert kind == 0x01
    expected = server.expect(uuid.UUID(bytes=payload))
    asterisk = await FakeAsterisk.connect(server.bound_port, call_uuid=None)
    for kind, payload in capture.frames:
        await asterisk.send(encode(kind, payload))
    session = await expected
    wanted: list[SocketEvent] = [
        DtmfIn(p.decode()) if k == 0x03 else AudioIn(p) for k, p in capture.frames[1:]
    ]
    if capture.caller_hung_up:
        await asterisk.hangup_by_caller()
        wanted.append(Closed(CloseReason.PEER_CLOSED))
    events: list[SocketEvent] = []
    async for event in session.events():
        events.append(event)
        if len(events) == len(wanted):
            break
    assert events == wanted
    if not capture.caller_hung_up:
        # What the capture's server did: audio frames, then the 0x00 hangup frame.
        assert await session.send_audio(bytes(320 * 3))
        await session.hangup()
        await asterisk.wait_closed()
        assert asterisk.kinds() == [0x10, 0x10, 0x10, 0x00]
