"""The AudioSocket server over real sockets, replaying the shapes of the real Asterisk captures."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from ivr.channels.audiosocket.protocol import FrameKind, encode
from ivr.channels.audiosocket.server import (
    AudioIn,
    AudioSocketServer,
    AudioSocketSession,
    Closed,
    CloseReason,
    DtmfIn,
    SocketEvent,
)
from tests.audiosocket.asterisk_side import CAPTURED_UUID, FakeAsterisk, captured_audio_frame


async def collect(session: AudioSocketSession, count: int) -> list[SocketEvent]:
    events: list[SocketEvent] = []
    async for event in session.events():
        events.append(event)
        if len(events) == count or isinstance(event, Closed):
            break
    return events


async def test_dtmf_then_server_audio_then_hangup(server: AudioSocketServer) -> None:
    """audiosocket-frames-dtmf-no-echo.txt: uuid, DTMF 1 2 3, server sends 0x10 frames then 0x00."""
    expected = server.expect(CAPTURED_UUID)
    asterisk = await FakeAsterisk.connect(server.bound_port)
    session = await expected
    assert session.uuid == CAPTURED_UUID
    await asterisk.dtmf("123")
    events = await collect(session, 3)
    assert events == [DtmfIn("1"), DtmfIn("2"), DtmfIn("3")]
    tone = bytes(range(256)) * 5  # 1280 bytes: four 20 ms frames
    assert await session.send_audio(tone)
    await session.hangup()
    await asterisk.wait_closed()
    assert asterisk.kinds() == [0x10, 0x10, 0x10, 0x10, 0x00]
    assert all(len(f.payload) == 320 for f in asterisk.received[:4])
    assert b"".join(f.payload for f in asterisk.received[:4]) == tone


async def test_inbound_audio_and_caller_hangup_is_a_tcp_close(server: AudioSocketServer) -> None:
    """audiosocket-frames-caller-hangup.txt: audio frames, then Asterisk closes TCP without 0x00."""
    expected = server.expect(CAPTURED_UUID)
    asterisk = await FakeAsterisk.connect(server.bound_port)
    session = await expected
    for index in range(3):
        await asterisk.audio(captured_audio_frame(index))
    await asterisk.hangup_by_caller()
    events = await collect(session, 10)
    assert [type(e) for e in events] == [AudioIn, AudioIn, AudioIn, Closed]
    assert isinstance(events[0], AudioIn) and events[0].pcm[:8] == bytes.fromhex("0000bc0afc13fc1a")
    assert events[-1] == Closed(CloseReason.PEER_CLOSED)
    assert session.closed
    await session.hangup()  # idempotent once the caller is gone
    assert await session.send_audio(bytes(640)) is False


async def test_frames_split_across_reads(server: AudioSocketServer) -> None:
    expected = server.expect(CAPTURED_UUID)
    asterisk = await FakeAsterisk.connect(server.bound_port, call_uuid=None)
    stream = encode(0x01, CAPTURED_UUID.bytes) + encode(0x03, b"5") + encode(0x10, captured_audio_frame(0))
    for offset in range(0, len(stream), 5):
        await asterisk.send(stream[offset:offset + 5])
    session = await expected
    events = await collect(session, 2)
    assert events == [DtmfIn("5"), AudioIn(captured_audio_frame(0))]
    await session.hangup()


async def test_garbage_kind_closes_only_that_session(server: AudioSocketServer) -> None:
    good_uuid, bad_uuid = uuid.uuid4(), uuid.uuid4()
    good_expected, bad_expected = server.expect(good_uuid), server.expect(bad_uuid)
    good = await FakeAsterisk.connect(server.bound_port, good_uuid)
    bad = await FakeAsterisk.connect(server.bound_port, bad_uuid)
    good_session, bad_session = await good_expected, await bad_expected
    await bad.send(encode(0x42, b"junk"))
    assert await collect(bad_session, 5) == [Closed(CloseReason.PROTOCOL_ERROR)]
    await bad.wait_closed()
    assert bad.kinds() == []  # closed without a frame: we may only send 0x00 and audio
    await good.dtmf("7")
    assert await collect(good_session, 1) == [DtmfIn("7")]
    await good_session.hangup()
    await good.wait_closed()
    assert good.kinds() == [FrameKind.HANGUP]


async def test_unknown_uuid_and_missing_uuid_are_closed(server: AudioSocketServer) -> None:
    stranger = await FakeAsterisk.connect(server.bound_port, uuid.uuid4())
    await stranger.wait_closed()
    no_uuid = await FakeAsterisk.connect(server.bound_port, call_uuid=None)
    await no_uuid.dtmf("1")
    await no_uuid.wait_closed()
    assert stranger.kinds() == [] and no_uuid.kinds() == []


async def test_expect_times_out_and_forgets_the_uuid(server: AudioSocketServer) -> None:
    call_uuid = uuid.uuid4()
    expected = server.expect(call_uuid, timeout=0.05)
    with pytest.raises(TimeoutError):
        await expected
    late = await FakeAsterisk.connect(server.bound_port, call_uuid)
    await late.wait_closed()  # nobody waits for it any more


async def test_barge_in_stops_the_prompt(server: AudioSocketServer) -> None:
    expected = server.expect(CAPTURED_UUID)
    asterisk = await FakeAsterisk.connect(server.bound_port)
    session = await expected
    stop = asyncio.Event()
    playing = asyncio.create_task(session.send_audio(bytes(320 * 500), stop=stop))  # 10 s prompt
    await asterisk.dtmf("1")
    assert await collect(session, 1) == [DtmfIn("1")]
    stop.set()
    assert await playing is False
    await session.hangup()
    await asterisk.wait_closed()
    audio_frames = asterisk.kinds().count(0x10)
    assert 1 <= audio_frames < 500
    assert asterisk.kinds()[-1] == 0x00


async def test_an_unexpected_fault_ends_only_that_connection(
    server: AudioSocketServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.channels.audiosocket import server as server_module

    real = server_module._first_frames
    faults = iter([True])

    async def first_frames_once_broken(reader: asyncio.StreamReader, decoder: Any) -> Any:
        frames = await real(reader, decoder)
        if next(faults, False):
            raise ValueError("a bug in the handshake")
        return frames

    monkeypatch.setattr(server_module, "_first_frames", first_frames_once_broken)
    broken = await FakeAsterisk.connect(server.bound_port, uuid.uuid4())
    await broken.wait_closed()
    assert server.failed_connections == 1 and broken.kinds() == []
    good_uuid = uuid.uuid4()
    expected = server.expect(good_uuid)
    good = await FakeAsterisk.connect(server.bound_port, good_uuid)
    session = await expected
    await good.dtmf("5")
    assert await collect(session, 1) == [DtmfIn("5")]
    await session.hangup()
    await good.wait_closed()
