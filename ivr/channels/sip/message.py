"""SIP messages (RFC 3261) as values: parse bytes into a request or response, and back.

Pure functions only: no sockets here. Parsing is strict enough to answer a malformed request with
``400`` (when its Via/From/To/Call-ID/CSeq survive) and lenient about what we never look at.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from ivr.channels.sip.errors import SipError

# RFC 3261 §7.3.3 compact header forms.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
}
_CANONICAL = {
    "via": "Via",
    "from": "From",
    "to": "To",
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "contact": "Contact",
    "content-length": "Content-Length",
    "content-type": "Content-Type",
    "max-forwards": "Max-Forwards",
    "www-authenticate": "WWW-Authenticate",
}
MAX_MESSAGE_BYTES = 65_535
_TOKEN_RE = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_STATUS_RE = re.compile(r"^SIP/2\.0 (\d{3}) ?(.*)$")
_REQUEST_RE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0$")
_BRANCH_MAGIC = "z9hG4bK"


def canonical_name(name: str) -> str:
    lower = name.strip().lower()
    lower = _COMPACT.get(lower, lower)
    return _CANONICAL.get(lower, "-".join(p.capitalize() for p in lower.split("-")))


class SipParseError(SipError):
    """A datagram is not valid SIP; ``partial`` holds what could be read (enough to answer 400?)."""

    def __init__(self, reason: str, *, partial: SipRequest | SipResponse | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


@dataclass(slots=True)
class Headers:
    """Ordered, case-insensitive, multi-valued headers."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name)
        for n, v in self.items:
            if n == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for n, v in self.items if n == key]

    def add(self, name: str, value: str) -> None:
        self.items.append((canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        key = canonical_name(name)
        self.items = [(n, v) for n, v in self.items if n != key]
        self.items.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self.items = [(n, v) for n, v in self.items if n != key]


class _HeaderAccess:
    """What requests and responses both read from their headers."""

    __slots__ = ()
    headers: Headers

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def branch(self) -> str:
        return via_branch(self.headers.get("Via") or "")


@dataclass(slots=True)
class SipRequest(_HeaderAccess):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return _serialise(f"{self.method} {self.uri} SIP/2.0", self.headers, self.body)


@dataclass(slots=True)
class SipResponse(_HeaderAccess):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return _serialise(f"SIP/2.0 {self.status} {self.reason}", self.headers, self.body)


SipMessage = SipRequest | SipResponse


def _serialise(first_line: str, headers: Headers, body: bytes) -> bytes:
    lines = [first_line]
    lines += [f"{n}: {v}" for n, v in headers.items if n != "Content-Length"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram. Raises :class:`SipParseError` (with what could be read) when malformed."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("headers are not UTF-8") from exc
    lines = _unfold(text.replace("\r\n", "\n").split("\n"))
    if not lines or not lines[0]:
        raise SipParseError("empty start line")
    headers = Headers()
    problems: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_RE.match(name.strip()):
            problems.append(f"bad header line {line[:40]!r}")
            continue
        headers.add(name, value.strip())
    body = _checked_body(headers, body, problems)
    message = _start_line(lines[0], headers, body, problems)
    if problems or message is None:
        raise SipParseError("; ".join(problems) or "unreadable", partial=message)
    return message


def _unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def _checked_body(headers: Headers, body: bytes, problems: list[str]) -> bytes:
    length_text = headers.get("Content-Length")
    if length_text is None:
        return body
    try:
        length = int(length_text)
    except ValueError:
        problems.append("bad Content-Length")
        return body
    if length < 0 or length > len(body):
        problems.append("Content-Length beyond the datagram")
        return body
    return body[:length]


def _start_line(line: str, headers: Headers, body: bytes, problems: list[str]) -> SipMessage | None:
    if status := _STATUS_RE.match(line):
        response = SipResponse(int(status.group(1)), status.group(2), headers, body)
        _check_required(headers, problems)
        return response
    if request := _REQUEST_RE.match(line):
        method, uri = request.group(1).upper(), request.group(2)
        message = SipRequest(method, uri, headers, body)
        _check_required(headers, problems)
        if not uri.lower().startswith(("sip:", "sips:", "tel:")):
            problems.append("unsupported Request-URI scheme")
        cseq_method = parse_cseq(headers.get("CSeq") or "")[1]
        if cseq_method and cseq_method != method and not (method == "ACK" and cseq_method == "INVITE"):
            problems.append("CSeq method does not match")
        return message
    problems.append("bad start line")
    return None


def _check_required(headers: Headers, problems: list[str]) -> None:
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if not headers.get(name):
            problems.append(f"missing {name}")
    cseq = headers.get("CSeq")
    if cseq is not None and parse_cseq(cseq)[1] == "":
        problems.append("bad CSeq")


def parse_cseq(value: str) -> tuple[int, str]:
    number, _, method = value.strip().partition(" ")
    if not number.isdigit() or len(number) > 10 or not method.strip():
        return 0, ""
    return int(number), method.strip().upper()


def header_params(value: str) -> dict[str, str]:
    """``<sip:a@b>;tag=x;expires=5`` -> {"tag": "x", "expires": "5"} (params after the address)."""
    tail = value.rsplit(">", 1)[1] if ">" in value else value
    params: dict[str, str] = {}
    for part in tail.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = val.strip().strip('"')
    return params


def tag_of(value: str | None) -> str:
    return header_params(value or "").get("tag", "")


def via_branch(via: str) -> str:
    first = via.split(",", maxsplit=1)[0]
    for part in first.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == "branch":
            return val.strip()
    return ""


def address_uri(value: str) -> str:
    """The URI inside a name-addr (``"Bob" <sip:b@h>;tag=1`` -> ``sip:b@h``) or addr-spec."""
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")]
    return value.split(";", maxsplit=1)[0].strip()


@dataclass(frozen=True, slots=True)
class SipUri:
    user: str
    host: str
    port: int | None

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


def parse_uri(uri: str) -> SipUri:
    """``sip:agent1@127.0.0.1:5080;transport=udp`` -> SipUri("agent1", "127.0.0.1", 5080)."""
    scheme, colon, rest = uri.strip().partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError(f"not a SIP URI: {uri[:60]!r}")
    rest = rest.split(";")[0].split("?")[0]
    user, at, hostport = rest.rpartition("@")
    host, port = _split_hostport(hostport if at else rest)
    if not host:
        raise SipParseError(f"no host in {uri[:60]!r}")
    return SipUri(user if at else "", host, port)


def _split_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):  # IPv6 literal
        host, _, tail = text[1:].partition("]")
        port_text = tail.lstrip(":")
    else:
        host, _, port_text = text.partition(":")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SipParseError(f"bad port in {text[:60]!r}")
    return host, int(port_text)


def via_sent_by(via: str) -> tuple[str, int]:
    """Where a response goes (RFC 3261 §18.2.2 with rport/received, RFC 3581)."""
    first = via.split(",", maxsplit=1)[0]
    proto_and_host, *params = first.split(";")
    sent_by = proto_and_host.split()[-1] if proto_and_host.split() else ""
    host, port = _split_hostport(sent_by)
    values = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in params)}
    host = values.get("received") or host
    rport = values.get("rport")
    if rport and rport.isdigit():
        port = int(rport)
    return host, port or 5060


def new_branch() -> str:
    return _BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def response_to(request: SipRequest, status: int, reason: str, *, to_tag: str = "", body: bytes = b"") -> SipResponse:
    """A response copying Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2), adding our To tag."""
    headers = Headers()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and not tag_of(to):
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", request.headers.get("CSeq") or "")
    return SipResponse(status, reason, headers, body)
