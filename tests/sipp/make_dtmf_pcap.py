"""Write one RFC 2833/4733 DTMF pcap per key sequence, for SIPp's ``play_pcap_audio``.

    .venv/bin/python tests/sipp/make_dtmf_pcap.py 1@0 1@5.5 tests/sipp/dtmf_example.pcap

Each ``KEY@SECONDS`` is one press at that offset from the start of the file. Every packet gets the
next RTP sequence number, and each press a timestamp newer than the one before (its offset in
8 kHz samples): Asterisk drops a telephone-event whose timestamp is not newer than the last one it
saw, so replaying one Debian pcap twice loses the second key (round3 captures). A press is sent as
RFC 4733 says: packets every 20 ms with the same timestamp and a growing duration (the marker on
the first), then the end packet three times. The capture times follow the offsets, so SIPp plays
the presses at those times.
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ivr.channels.sip.rtp import RtpPacket, build_rtp, build_telephone_event  # noqa: E402

PAYLOAD_TYPE = 101  # telephone-event/8000, as the scenarios' SDP offers it
SSRC = 0x0E05384E
STEP_SAMPLES = 160  # 20 ms at 8 kHz
PRESS_STEPS = 8  # 160 ms of key press before the end packets
END_REPEATS = 3
MIN_GAP = 0.3  # seconds between presses: a press and its end packets last 0.2 s


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _frame(rtp: bytes, ident: int, *, src_port: int = 10000, dst_port: int = 20000) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet (SIPp takes the UDP payload)."""
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x00" * 12 + b"\x08\x00" + ip + udp


def presses(spec: Sequence[str]) -> list[tuple[float, str]]:
    """``["1@0", "2@1.5"]`` -> ``[(0.0, "1"), (1.5, "2")]``, checked: known keys, growing offsets."""
    out: list[tuple[float, str]] = []
    for item in spec:
        key, sep, at = item.partition("@")
        if not sep or len(key) != 1 or key not in "0123456789*#ABCD":
            raise ValueError(f"not KEY@SECONDS: {item!r}")
        offset = float(at)
        if out and offset < out[-1][0] + MIN_GAP:
            raise ValueError(f"{item!r}: presses must be at least {MIN_GAP} s apart and in order")
        out.append((offset, key))
    return out


def rtp_packets(keys: Sequence[tuple[float, str]], *, first_seq: int = 1000, first_timestamp: int = 8000
                ) -> list[tuple[float, RtpPacket]]:
    """(capture time in seconds, packet) for every packet of every press, in order."""
    out: list[tuple[float, RtpPacket]] = []
    seq = first_seq
    for offset, key in keys:
        timestamp = first_timestamp + round(offset * 8000)
        for step in range(PRESS_STEPS):
            payload = build_telephone_event(key, end=False, duration=(step + 1) * STEP_SAMPLES)
            out.append((offset + step * 0.02, RtpPacket(PAYLOAD_TYPE, step == 0, seq, timestamp, SSRC, payload)))
            seq += 1
        end = build_telephone_event(key, end=True, duration=PRESS_STEPS * STEP_SAMPLES)
        for repeat in range(END_REPEATS):
            at = offset + PRESS_STEPS * 0.02 + repeat * 0.001
            out.append((at, RtpPacket(PAYLOAD_TYPE, False, seq, timestamp, SSRC, end)))
            seq += 1
    return out


def write_dtmf_pcap(path: Path, keys: Sequence[tuple[float, str]]) -> int:
    """Write the pcap; returns the number of packets."""
    packets = rtp_packets(keys)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at, packet in packets:
        frame = _frame(build_rtp(packet), packet.sequence)
        usec = round(at * 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))
    return len(packets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presses", nargs="+", help="KEY@SECONDS ...")
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    count = write_dtmf_pcap(args.output, presses(args.presses))
    print(f"wrote {args.output} ({count} packets)")


if __name__ == "__main__":
    main()
