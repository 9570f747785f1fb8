from __future__ import annotations

import uuid

import pytest

from ivr.channels.audiosocket.protocol import (
    Frame,
    FrameDecoder,
    FrameKind,
    ProtocolError,
    check_inbound,
    encode,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
    parse_dtmf,
    parse_uuid,
)
from tests.audiosocket.asterisk_side import CAPTURED_UUID, captured_audio_frame


def test_wire_shapes_match_the_capture() -> None:
    assert encode_uuid(CAPTURED_UUID) == bytes.fromhex("010010") + CAPTURED_UUID.bytes
    assert encode_dtmf("1") == bytes.fromhex("03000131")  # "kind=0x03 DTMF len=1 digit='1' raw=31"
    assert encode_hangup() == b"\x00\x00\x00"  # "SENT hangup frame (kind 0x00, len 0)"
    frame = encode_audio(captured_audio_frame(0))
    assert frame[:3] == bytes.fromhex("100140")  # 0x10, 320 bytes big-endian
    assert frame[3:11] == bytes.fromhex("0000bc0afc13fc1a")


def test_decoder_handles_any_split() -> None:
    stream = encode_uuid(CAPTURED_UUID) + encode_dtmf("1") + encode_audio(captured_audio_frame(1)) + encode_hangup()
    for size in (1, 2, 3, 7, 320, len(stream)):
        decoder = FrameDecoder()
        frames: list[Frame] = []
        for offset in range(0, len(stream), size):
            frames.extend(decoder.feed(stream[offset:offset + size]))
        assert [f.kind for f in frames] == [0x01, 0x03, 0x10, 0x00]
        assert parse_uuid(frames[0]) == CAPTURED_UUID
        assert parse_dtmf(frames[1]) == "1"
        assert frames[2].payload == captured_audio_frame(1)
        assert decoder.pending == 0


def test_truncated_frame_stays_pending() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(encode_audio(bytes(320))[:100]) == []
    assert decoder.pending == 100


def test_parse_errors() -> None:
    with pytest.raises(ProtocolError):
        parse_uuid(Frame(FrameKind.DTMF, b"1"))
    with pytest.raises(ProtocolError):
        parse_uuid(Frame(FrameKind.UUID, b"short"))
    with pytest.raises(ProtocolError):
        parse_dtmf(Frame(FrameKind.DTMF, b"12"))
    with pytest.raises(ProtocolError):
        check_inbound(Frame(0x42, b"junk"))
    assert check_inbound(Frame(0x12, b"")).is_audio  # other slin rates are still audio


def test_encode_limits() -> None:
    with pytest.raises(ValueError):
        encode(0x100)
    with pytest.raises(ValueError):
        encode(0x10, bytes(0x10000))
    assert parse_uuid(Frame(FrameKind.UUID, uuid.UUID(int=5).bytes)) == uuid.UUID(int=5)
