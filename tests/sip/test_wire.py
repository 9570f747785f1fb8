"""SIP/SDP/RTP/G.711 parsing on real wire samples (Asterisk 22 and SIPp 3.6.1), plus fuzzing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.channels.sip import g711
from ivr.channels.sip.errors import SdpError
from ivr.channels.sip.inbound import dtmf_relay_digit
from ivr.channels.sip.message import (
    SipParseError,
    SipRequest,
    SipResponse,
    parse_message,
    parse_uri,
    response_to,
    tag_of,
    via_sent_by,
)
from ivr.channels.sip.rtp import DtmfDetector, RtpPacket, build_rtp, build_telephone_event, parse_rtp
from ivr.channels.sip.sdp import Codec, build_sdp, negotiate, parse_sdp

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_parses_asterisk_invite() -> None:
    message = parse_message(sample("asterisk_invite.txt"))
    assert isinstance(message, SipRequest)
    assert message.method == "INVITE"
    assert message.uri == "sip:agent1@127.0.0.1:5080"
    assert message.cseq == (19832, "INVITE")
    assert message.branch == "z9hG4bKPj4728a70e-c229-41b7-ba9a-af0875d3645c"
    assert tag_of(message.headers.get("From")) == "a3559490-d036-4feb-923e-7c55447593e3"
    assert len(message.body) == 231
    offer = parse_sdp(message.body)
    assert (offer.host, offer.port, offer.codecs, offer.dtmf_pt) == ("127.0.0.1", 10066, (Codec.PCMU,), 101)


def test_parses_sipp_responses_and_ack() -> None:
    ringing = parse_message(sample("sipp_180.txt"))
    ok = parse_message(sample("sipp_200_sdp.txt"))
    ack = parse_message(sample("asterisk_ack.txt"))
    assert isinstance(ringing, SipResponse) and ringing.status == 180
    assert tag_of(ringing.headers.get("To")) == "23984SIPpTag011"
    assert isinstance(ok, SipResponse) and ok.status == 200 and parse_sdp(ok.body).port == 6100
    assert isinstance(ack, SipRequest) and ack.method == "ACK" and ack.cseq == (19832, "ACK")


def test_round_trip_and_response_copies_headers() -> None:
    invite = parse_message(sample("asterisk_invite.txt"))
    assert isinstance(invite, SipRequest)
    assert parse_message(invite.to_bytes()).to_bytes() == invite.to_bytes()
    response = response_to(invite, 486, "Busy Here", to_tag="abc")
    again = parse_message(response.to_bytes())
    assert isinstance(again, SipResponse)
    assert again.status == 486 and again.branch == invite.branch and tag_of(again.headers.get("To")) == "abc"
    assert via_sent_by(invite.headers.get("Via") or "") == ("127.0.0.1", 5060)


def test_compact_headers_and_folding() -> None:
    raw = (
        b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
        b"f: <sip:a@b>;tag=1\r\nt: <sip:x@127.0.0.1>\r\ni: cid\r\nCSeq: 7\r\n OPTIONS\r\nl: 0\r\n\r\n"
    )
    message = parse_message(raw)
    assert isinstance(message, SipRequest)
    assert message.call_id == "cid" and message.cseq == (7, "OPTIONS") and message.branch == "z9hG4bK1"


@pytest.mark.parametrize(
    ("raw", "answerable"),
    [
        (
            b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
            b"To: <sip:x@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 999\r\n\r\nv=0",
            True,
        ),
        (b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n", False),
        (b"HELLO\r\n\r\n", False),
        (b"\xff\xfe\x00garbage", False),
        (
            b"BYE http://x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=b\r\nFrom: a;tag=1\r\nTo: b\r\nCall-ID: c\r\n"
            b"CSeq: 2 BYE\r\n\r\n",
            True,
        ),
    ],
)
def test_malformed_is_reported_with_what_was_readable(raw: bytes, answerable: bool) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(raw)
    partial = caught.value.partial
    readable = isinstance(partial, SipRequest) and all(
        partial.headers.get(h) for h in ("Via", "From", "To", "Call-ID", "CSeq")
    )
    assert readable is answerable


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_parser_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "INVITE sip:1@h SIP/2.0",
                "SIP/2.0 200 OK",
                "Via: SIP/2.0/UDP h:1;branch=z9hG4bKx",
                "From: <sip:a@h>;tag=1",
                "To: <sip:b@h>",
                "Call-ID: x",
                "CSeq: 1 INVITE",
                "CSeq: x",
                "Content-Length: 4",
                "Content-Length: -1",
                "l: 99999",
                ": novalue",
                " folded",
                "",
                "v=0",
                "m=audio 1 RTP/AVP 0",
            ]
        ),
        max_size=14,
    )
)
def test_parser_survives_shuffled_header_lines(lines: list[str]) -> None:
    try:
        message = parse_message("\r\n".join(lines).encode())
    except SipParseError:
        return
    message.to_bytes()  # whatever parsed can be serialised again


def test_uri_parsing() -> None:
    uri = parse_uri("sip:agent1@127.0.0.1:5080;transport=udp")
    assert (uri.user, uri.host, uri.port) == ("agent1", "127.0.0.1", 5080)
    assert parse_uri("sip:127.0.0.1").port is None
    with pytest.raises(SipParseError):
        parse_uri("http://example.com")
    with pytest.raises(SipParseError):
        parse_uri("sip:a@h:99999")


def test_sdp_negotiation_prefers_offerer_order_and_rejects_unknown() -> None:
    offer = parse_sdp(
        b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"
    )
    chosen = negotiate(offer)
    assert (chosen.codec, chosen.dtmf_pt, chosen.host, chosen.port) == (Codec.PCMA, 96, "10.0.0.1", 4000)
    with pytest.raises(SdpError):
        negotiate(parse_sdp(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"))
    with pytest.raises(SdpError):
        parse_sdp(b"v=0\r\nm=video 4000 RTP/AVP 96\r\n")
    answer = parse_sdp(build_sdp("127.0.0.1", 20000, (Codec.PCMU,), 101))
    assert answer.codecs == (Codec.PCMU,) and answer.dtmf_pt == 101 and answer.port == 20000


@pytest.mark.parametrize("codec", list(Codec))
def test_g711_round_trip_is_close(codec: Codec) -> None:
    pcm = (np.sin(np.arange(1600) / 7) * 16000).astype("<i2")
    decoded = np.frombuffer(g711.decode(g711.encode(pcm.tobytes(), codec), codec), dtype="<i2")
    error = np.abs(decoded.astype(int) - pcm.astype(int))
    assert error.max() <= 1024  # G.711 step size at the top segment
    assert np.all(error <= np.abs(pcm.astype(int)) // 16 + 16)


def test_g711_known_values() -> None:
    assert g711.decode(b"\xff\x7f\x00\x80", Codec.PCMU) == np.array([0, 0, -32124, 32124], "<i2").tobytes()
    assert g711.decode(b"\xd5\x55", Codec.PCMA) == np.array([8, -8], "<i2").tobytes()


def _event(digit: str, ts: int, end: bool, seq: int) -> RtpPacket:
    payload = build_telephone_event(digit, end=end, duration=160)
    return parse_rtp(build_rtp(RtpPacket(101, False, seq, ts, 1, payload)))


def test_rfc2833_one_digit_per_event_and_repeats_after_a_pause() -> None:
    detector = DtmfDetector()
    packets = [
        _event("5", 1000, False, 1),
        _event("5", 1000, False, 2),
        _event("5", 1000, True, 3),
        _event("5", 1000, True, 4),
        _event("5", 1000, True, 5),
    ]
    seen = [detector.feed(p, 10.0 + i * 0.02) for i, p in enumerate(packets)]
    assert seen == ["5", None, None, None, None]
    assert detector.feed(_event("6", 2000, False, 6), 10.5) == "6"
    # The same pcap replayed later (same timestamp) is a new press.
    assert detector.feed(_event("6", 2000, False, 6), 12.0) == "6"


def test_rfc2833_another_key_is_a_new_press_even_with_the_same_timestamp() -> None:
    # Debian's pcaps for different keys, or two sources, may reuse a timestamp: a key typed right
    # after another must not be taken for a repeat of it.
    detector = DtmfDetector()
    assert detector.feed(_event("1", 5000, True, 1), 20.0) == "1"
    assert detector.feed(_event("2", 5000, False, 2), 20.1) == "2"
    assert detector.feed(_event("2", 5000, True, 3), 20.12) is None  # its own end packet
    assert detector.feed(_event("2", 5160, False, 4), 20.2) == "2"  # a newer press of the same key


def test_sip_info_dtmf_relay() -> None:
    assert dtmf_relay_digit(b"Signal=5\r\nDuration=160\r\n") == "5"
    assert dtmf_relay_digit(b"Signal= #\r\n") == "#"
    assert dtmf_relay_digit(b"Duration=160\r\n") is None


def test_endpoint_counters_are_exported_to_prometheus() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from ivr.channels.sip.metrics import SipCollector
    from ivr.channels.sip.stats import EndpointStats, PacingStats

    stats, pacing = EndpointStats(), PacingStats()
    registry = CollectorRegistry()
    registry.register(SipCollector(stats, pacing))
    stats.calls_in, stats.malformed = 4, 2
    stats.send_errors, stats.call_faults, stats.internal_errors, pacing.send_errors = 5, 6, 7, 8
    for lateness in (0.001, 0.002, 0.009):
        pacing.record(lateness)
    text = generate_latest(registry).decode()
    assert "puente_sip_calls_in_total 4.0" in text
    assert "puente_sip_malformed_total 2.0" in text
    assert "puente_rtp_frames_sent_total 3.0" in text
    assert 'puente_rtp_send_lateness_seconds{quantile="0.99"} 0.009' in text
    for name, value in [("puente_sip_send_errors", 5), ("puente_sip_call_faults", 6),
                        ("puente_sip_internal_errors", 7), ("puente_rtp_send_errors", 8)]:
        assert f"{name}_total {value}.0" in text
