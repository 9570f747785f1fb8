"""SDP offer/answer (RFC 3264) for one audio stream: PCMU, PCMA and telephone-event."""

from __future__ import annotations

import enum
import ipaddress
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
    address_type: str = "IP4"  # from the c= line: IP4 or IP6 (anything else is refused)


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
    session_host = session_type = ""
    media_host = media_type = ""
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
            parts = value.split()
            host, address_type = (parts[2], parts[1]) if len(parts) == 3 else ("", "")
            if in_audio:
                media_host, media_type = host, address_type
            elif port < 0:
                session_host, session_type = host, address_type
        elif kind == "m":
            in_audio = False
            parts = value.split()
            if len(parts) >= 4 and parts[0] == "audio" and port < 0 and _small_number(parts[1], 5):
                in_audio = True
                port = int(parts[1])
                payloads = tuple(int(p) for p in parts[3:] if _small_number(p, 3) and int(p) < 128)
        elif kind == "a" and in_audio:
            name, _, attr = value.partition(":")
            if name == "rtpmap":
                pt_text, _, encoding = attr.partition(" ")
                if _small_number(pt_text, 3):
                    rtpmap[int(pt_text)] = encoding.strip().lower()
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = name
    host, address_type = (media_host, media_type) if media_host else (session_host, session_type)
    if port < 0 or not host:
        raise SdpError("no audio stream with an address")
    return _description(host, port, payloads, rtpmap, direction, address_type=address_type)


def _small_number(text: str, digits: int) -> bool:
    # ASCII only: str.isdigit() accepts "²", which int() refuses; and no 10,000-digit numbers.
    return 0 < len(text) <= digits and text.isascii() and text.isdigit()


def _description(
    host: str, port: int, payloads: tuple[int, ...], rtpmap: dict[int, str], direction: str, *, address_type: str
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
    return MediaDescription(host, port, payloads, tuple(codecs), dtmf_pt, direction, address_type)


def negotiate(
    offer: MediaDescription, supported: tuple[Codec, ...] = (Codec.PCMU, Codec.PCMA), *, ip_version: int = 4
) -> Negotiated:
    """Pick the offerer's most preferred codec we support (RFC 3264 §6).

    The media address is checked here, at the edge: RTP is sent to it every 20 ms from the one
    pacer, so only an IP literal of our RTP socket's family (``ip_version``) and a real port pass.
    A host name would cost a blocking DNS lookup per packet (or fail to send), and a foreign
    family fails every send.
    """
    check_media_address(offer, ip_version)
    for codec in offer.codecs:
        if codec in supported:
            return Negotiated(offer.host, offer.port, codec, offer.dtmf_pt)
    raise SdpError("no common audio codec (PCMU/PCMA)")


def check_media_address(offer: MediaDescription, ip_version: int) -> None:
    """Raise :class:`SdpError` naming the problem when we cannot send RTP to the offer's address."""
    if offer.address_type not in ("IP4", "IP6"):
        raise SdpError(f"unsupported connection address type {offer.address_type[:16]!r} (IP4 or IP6)")
    try:
        address = ipaddress.ip_address(offer.host)
    except ValueError:
        raise SdpError(f"the connection address must be an IP address, not {offer.host[:64]!r}") from None
    if address.version != int(offer.address_type[-1]):
        raise SdpError(f"c= says {offer.address_type} but {offer.host[:64]!r} is an IPv{address.version} address")
    if address.version != ip_version:
        raise SdpError(f"IPv{address.version} media is not supported here (RTP is on IPv{ip_version})")
    if address.is_multicast:
        raise SdpError("multicast media is not supported")
    if not 0 < offer.port < 65536:
        raise SdpError(f"the audio port must be 1-65535, not {offer.port}")


def ip_version_of(host: str) -> int:
    """The IP version of a socket bound to ``host`` (a name binds IPv4, as the endpoint does)."""
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return 4


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
        f"o=puente {sid} {version} IN IP{ip_version_of(host)} {host}",
        "s=Puente",
        f"c=IN IP{ip_version_of(host)} {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(pts)}",
    ]
    lines += [f"a=rtpmap:{int(c)} {c.name}/8000" for c in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
