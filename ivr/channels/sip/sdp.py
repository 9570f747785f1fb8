"""SDP offer/answer (RFC 3264) for one audio stream: PCMU, PCMA and telephone-event."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from ivr.channels.sip.errors import SdpError


class Codec(enum.IntEnum):
    PCMU = 0
    PCMA = 8


DEFAULT_DTMF_PT = 101
_CODEC_NAMES = {"pcmu": Codec.PCMU, "pcma": Codec.PCMA}


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """What one side said about its audio: where to send, in which formats."""

    host: str
    port: int
    payloads: tuple[int, ...]  # in preference order
    codecs: tuple[Codec, ...]  # the usable ones, in the peer's preference order
    dtmf_pt: int | None
    direction: str = "sendrecv"


@dataclass(frozen=True, slots=True)
class Negotiated:
    host: str
    port: int
    codec: Codec
    dtmf_pt: int | None


def parse_sdp(body: bytes) -> MediaDescription:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError("SDP is not UTF-8") from exc
    session_host = ""
    media_host = ""
    port = -1
    payloads: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    in_audio = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        kind, eq, value = line.partition("=")
        if not eq:
            continue
        if kind == "c":
            host = value.split()[-1] if len(value.split()) == 3 else ""
            if in_audio:
                media_host = host
            elif port < 0:
                session_host = host
        elif kind == "m":
            in_audio = False
            parts = value.split()
            if len(parts) >= 4 and parts[0] == "audio" and port < 0 and parts[1].isdigit():
                in_audio = True
                port = int(parts[1])
                payloads = tuple(int(p) for p in parts[3:] if p.isdigit() and int(p) < 128)
        elif kind == "a" and in_audio:
            name, _, attr = value.partition(":")
            if name == "rtpmap":
                pt_text, _, encoding = attr.partition(" ")
                if pt_text.isdigit():
                    rtpmap[int(pt_text)] = encoding.strip().lower()
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = name
    host = media_host or session_host
    if port < 0 or not host:
        raise SdpError("no audio stream with an address")
    return _description(host, port, payloads, rtpmap, direction)


def _description(
    host: str, port: int, payloads: tuple[int, ...], rtpmap: dict[int, str], direction: str
) -> MediaDescription:
    codecs: list[Codec] = []
    dtmf_pt: int | None = None
    for pt in payloads:
        encoding = rtpmap.get(pt, "")
        name = encoding.split("/")[0]
        if pt in (0, 8) and (not encoding or name in _CODEC_NAMES):
            codecs.append(Codec(pt))
        elif name in _CODEC_NAMES and encoding.endswith("/8000"):
            codecs.append(_CODEC_NAMES[name])
        elif name == "telephone-event" and dtmf_pt is None:
            dtmf_pt = pt
    return MediaDescription(host, port, payloads, tuple(codecs), dtmf_pt, direction)


def negotiate(offer: MediaDescription, supported: tuple[Codec, ...] = (Codec.PCMU, Codec.PCMA)) -> Negotiated:
    """Pick the offerer's most preferred codec we support (RFC 3264 §6)."""
    for codec in offer.codecs:
        if codec in supported:
            return Negotiated(offer.host, offer.port, codec, offer.dtmf_pt)
    raise SdpError("no common audio codec (PCMU/PCMA)")


def build_sdp(
    host: str,
    port: int,
    codecs: tuple[Codec, ...],
    dtmf_pt: int | None,
    *,
    session_id: int | None = None,
    version: int = 1,
    direction: str = "sendrecv",
) -> bytes:
    """An offer (several codecs) or an answer (the one chosen codec)."""
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    pts = [str(int(c)) for c in codecs] + ([str(dtmf_pt)] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=puente {sid} {version} IN IP4 {host}",
        "s=Puente",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(pts)}",
    ]
    lines += [f"a=rtpmap:{int(c)} {c.name}/8000" for c in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
