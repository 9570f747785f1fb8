"""Render a phrase with espeak-ng, or a recorded WAV, into an RTP/PCMU pcap that SIPp's
``play_pcap_audio`` can stream.

    .venv/bin/python tests/sipp/make_speech_pcap.py "billing" tests/sipp/speech_billing_en.pcap
    .venv/bin/python tests/sipp/make_speech_pcap.py --wav \
        /usr/share/asterisk/sounds/en_US_f_Allison/digits/1.wav one.pcap

English clean lines are heard by Whisper, which misses espeak-ng's English (bench/speech.py): an
English caller should say a recording (``--wav``; a second of silence follows it, so the
endpointer hears the end of the utterance before the RTP stops).

The pcap holds Ethernet/IPv4/UDP/RTP packets of 20 ms (160 μ-law bytes), with 20 ms capture
spacing (SIPp replays with the capture timing), framed by 300 ms of silence on each side.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ivr.channels.sip import g711  # noqa: E402
from ivr.channels.sip.audio import read_wav_pcm  # noqa: E402
from ivr.channels.sip.sdp import Codec  # noqa: E402

TRAILING_SILENCE = b"\x00\x00" * 8000  # 1 s after a recording


def render(text: str, voice: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        wav = Path(tmp) / "8k.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)], check=True)
        return read_wav_pcm(wav)


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def packet(payload: bytes, seq: int, timestamp: int, *, src_port: int = 10000, dst_port: int = 20000) -> bytes:
    rtp = struct.pack("!BBHII", 0x80, 0x80 if seq == 0 else 0, seq, timestamp, 0x5EEC4) + payload
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(rtp), 0) + rtp
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        seq & 0xFFFF,
        0,
        64,
        17,
        0,
        bytes([127, 0, 0, 1]),
        bytes([127, 0, 0, 1]),
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def write_pcap(pcm: bytes, path: Path) -> int:
    silence = b"\x00\x00" * 2400  # 300 ms
    ulaw = g711.encode(silence + pcm + silence, Codec.PCMU)
    ulaw += g711.silence(Codec.PCMU, (-len(ulaw)) % 160)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index in range(len(ulaw) // 160):
        frame = packet(ulaw[index * 160 : (index + 1) * 160], index, index * 160)
        usec = index * 20_000
        out.append(struct.pack("<IIII", 1_700_000_000 + usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))
    return len(ulaw) // 160


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", nargs="?", help="the phrase espeak-ng says (unless --wav)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--voice", default="en-us")
    parser.add_argument("--wav", type=Path, help="a recording to send instead (16-bit WAV)")
    args = parser.parse_args()
    if args.wav is None and not args.text:
        parser.error("give the phrase to say, or --wav FILE")
    pcm = read_wav_pcm(args.wav) + TRAILING_SILENCE if args.wav else render(args.text, args.voice)
    frames = write_pcap(pcm, args.output)
    print(f"{args.output}: {frames} RTP packets ({frames * 0.02:.2f} s)")


if __name__ == "__main__":
    main()
