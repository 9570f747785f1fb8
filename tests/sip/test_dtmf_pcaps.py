"""The shipped SIPp DTMF pcaps work on a real Asterisk too: one pcap per scenario's key sequence,
every packet a newer RTP sequence number, every press a newer timestamp (Asterisk drops an event
whose timestamp is not newer than the last: round3 captures), RFC 4733 shapes our detector reads."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from ivr.channels.sip.rtp import DtmfDetector, parse_rtp, parse_telephone_event
from tests.sipp.make_dtmf_pcap import presses, write_dtmf_pcap
from tests.sipp.make_scenarios import SCENARIOS, dtmf_pcap

SIPP = Path(__file__).resolve().parents[1] / "sipp"


def read_pcap(path: Path) -> list[tuple[float, bytes]]:
    """(capture time, UDP payload) of each packet of an Ethernet/IPv4/UDP pcap."""
    data = path.read_bytes()
    magic, _, _, _, _, _, link = struct.unpack_from("<IHHiIII", data)
    assert magic == 0xA1B2C3D4 and link == 1
    out, offset = [], 24
    while offset < len(data):
        seconds, usec, length, _ = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16: offset + 16 + length]
        offset += 16 + length
        ihl = (frame[14] & 0x0F) * 4
        out.append((seconds + usec / 1e6, frame[14 + ihl + 8:]))
    return out


def keys_of(name: str) -> list[tuple[float, str]]:
    steps = SCENARIOS[name][1]
    return [(at, what) for at, what in steps if len(what) == 1]


@pytest.mark.parametrize("name", sorted(n for n in SCENARIOS if keys_of(n)))
def test_each_scenario_plays_its_own_pcap_once_with_growing_numbers(name: str) -> None:
    scenario = (SIPP / f"{name}.xml").read_text()
    played = re.findall(r'play_pcap_audio="([^"]+)"', scenario)
    assert played.count(dtmf_pcap(name)) == 1
    assert not any(p.startswith("/usr/share/sip-tester/dtmf") for p in played)  # no Debian pcap replayed

    packets = read_pcap(SIPP / dtmf_pcap(name))
    rtp = [parse_rtp(payload) for _, payload in packets]
    sequences = [p.sequence for p in rtp]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    detector = DtmfDetector()
    pressed: list[tuple[int, str]] = []
    for (at, _), packet in zip(packets, rtp, strict=True):
        assert packet.payload_type == 101
        assert parse_telephone_event(packet.payload) is not None
        digit = detector.feed(packet, at)
        if digit is not None:
            pressed.append((packet.timestamp, digit))
    expected = keys_of(name)
    assert [d for _, d in pressed] == [k for _, k in expected]  # each press once, in order
    stamps = [t for t, _ in pressed]
    assert stamps == sorted(set(stamps))  # strictly newer for every press
    first = packets[0][0]
    starts = [at - first for at, payload in packets if parse_rtp(payload).marker]
    assert starts == pytest.approx([at - expected[0][0] for at, _ in expected], abs=0.002)  # played on time


def test_every_press_ends_with_three_end_packets(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    count = write_dtmf_pcap(path, presses(["1@0", "1@0.5", "#@1"]))
    events = [parse_telephone_event(parse_rtp(p).payload) for _, p in read_pcap(path)]
    assert count == len(events) == 3 * 11
    ends = [e for e in events if e is not None and e.end]
    assert [e.digit for e in ends] == ["1"] * 3 + ["1"] * 3 + ["#"] * 3


@pytest.mark.parametrize("bad", [["1"], ["x@0"], ["1@1", "2@0.5"], ["1@0", "2@0.1"]])
def test_bad_press_lists_are_refused(bad: list[str]) -> None:
    with pytest.raises(ValueError):
        presses(bad)
