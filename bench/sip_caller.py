"""The callers of bench/loop_lag.py: a minimal SIP UAC with RTP receive, and an OPTIONS pinger.

One socket carries the calls' signalling, one the pings; each call's SDP points its media at a UDP
socket of its own. Every datagram is read with its kernel receive time (``SO_TIMESTAMPNS``), so
what is measured is when the server sent it, not when this process got round to reading it:

- SIP RTT: an OPTIONS sent every 50 ms, from send to the 200;
- RTP jitter: for consecutive packets of a call (sequence +1, timestamp +160), how far the gap
  between their arrivals is from 20 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

SO_TIMESTAMPNS = 35  # Linux: the kernel's receive time of each datagram, as a cmsg (timespec)
CMSG_SPACE = socket.CMSG_SPACE(16)


def timestamped_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


def receive_all(sock: socket.socket) -> Iterator[tuple[bytes, float]]:
    """Every datagram waiting, with its kernel receive time (seconds, CLOCK_REALTIME)."""
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(4096, CMSG_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionRefusedError:
            continue  # an ICMP error for an earlier send: nothing to read
        at = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanos = struct.unpack("qq", value[:16])
                at = seconds + nanos / 1e9
        yield data, at


def parse_sip(data: bytes) -> tuple[str, dict[str, str]]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    first, *lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return first, headers


@dataclass
class Phase:
    name: str
    rtt_ms: list[float] = field(default_factory=list)
    jitter_ms: list[float] = field(default_factory=list)
    packets: int = 0
    pings: int = 0


@dataclass
class Call:
    call_id: str
    tag: str
    rtp: socket.socket
    to: str = ""
    contact: str = ""
    answered: asyncio.Future[None] | None = None
    last: tuple[int, int, float] | None = None  # sequence, timestamp, arrival


class Caller:
    """The callers' SIP signalling (one socket), their RTP sockets, and the OPTIONS pinger."""

    def __init__(self, server_port: int, number: str) -> None:
        self.target = ("127.0.0.1", server_port)
        self.number = number  # the number every call dials
        self.sip = timestamped_socket()
        self.pinger = timestamped_socket()
        self.local = self.sip.getsockname()[1]
        self.calls: dict[str, Call] = {}
        self.pings: dict[str, float] = {}
        self.phase = Phase("setup")
        self.ended_by_server = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.sip.fileno(), self._on_sip)
        loop.add_reader(self.pinger.fileno(), self._on_pong)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in (self.sip, self.pinger, *(c.rtp for c in self.calls.values())):
            loop.remove_reader(sock.fileno())
            sock.close()

    def _message(self, lines: list[str], body: str = "") -> bytes:
        return ("\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""]) + body).encode()

    def _via(self, port: int) -> str:
        return f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport"

    # ------------------------------------------------------------------ calls
    async def place(self, number: int) -> Call:
        loop = asyncio.get_running_loop()
        call = Call(call_id=f"{uuid.uuid4().hex}@bench", tag=uuid.uuid4().hex[:10], rtp=timestamped_socket(),
                    answered=loop.create_future())
        self.calls[call.call_id] = call
        loop.add_reader(call.rtp.fileno(), self._on_rtp, call)
        rtp_port = call.rtp.getsockname()[1]
        sdp = "\r\n".join([
            "v=0", f"o=bench {number} 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            f"m=audio {rtp_port} RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16", "a=sendrecv", "",
        ])
        uri = f"sip:{self.number}@127.0.0.1:{self.target[1]}"
        self.sip.sendto(self._message([
            f"INVITE {uri} SIP/2.0", self._via(self.local),
            f"From: <sip:+3460{number:07d}@127.0.0.1:{self.local}>;tag={call.tag}", f"To: <{uri}>",
            f"Call-ID: {call.call_id}", "CSeq: 1 INVITE", f"Contact: <sip:bench@127.0.0.1:{self.local}>",
            "Max-Forwards: 70", "Content-Type: application/sdp",
        ], sdp), self.target)
        assert call.answered is not None
        await asyncio.wait_for(call.answered, 15)
        return call

    def hang_up(self, call: Call) -> None:
        if not call.to:
            return
        uri = call.contact or f"sip:{self.number}@127.0.0.1:{self.target[1]}"
        self.sip.sendto(self._message([
            f"BYE {uri} SIP/2.0", self._via(self.local),
            f"From: <sip:bench@127.0.0.1:{self.local}>;tag={call.tag}", f"To: {call.to}",
            f"Call-ID: {call.call_id}", "CSeq: 2 BYE", "Max-Forwards: 70",
        ]), self.target)

    def _on_sip(self) -> None:
        for data, _ in receive_all(self.sip):
            first, headers = parse_sip(data)
            call = self.calls.get(headers.get("call-id", ""))
            if first.startswith("SIP/2.0 "):
                if call is not None and "INVITE" in headers.get("cseq", ""):
                    self._on_invite_response(call, int(first.split()[1]), headers)
            else:
                self._answer_request(first, headers)

    def _on_invite_response(self, call: Call, status: int, headers: dict[str, str]) -> None:
        if status < 200:
            return
        call.to = headers.get("to", "")
        contact = headers.get("contact", "")
        call.contact = contact.strip("<>").split(">")[0] if contact else ""
        uri = call.contact or f"sip:{self.number}@127.0.0.1:{self.target[1]}"
        self.sip.sendto(self._message([  # ACK every 2xx (the server retransmits it until acknowledged)
            f"ACK {uri} SIP/2.0", self._via(self.local),
            f"From: <sip:bench@127.0.0.1:{self.local}>;tag={call.tag}", f"To: {call.to}",
            f"Call-ID: {call.call_id}", "CSeq: 1 ACK", "Max-Forwards: 70",
        ]), self.target)
        if call.answered is not None and not call.answered.done():
            if status < 300:
                call.answered.set_result(None)
            else:
                call.answered.set_exception(RuntimeError(f"INVITE answered {status}"))

    def _answer_request(self, first: str, headers: dict[str, str]) -> None:
        if first.startswith("BYE"):
            self.ended_by_server += 1
        self.sip.sendto(self._message([
            "SIP/2.0 200 OK", f"Via: {headers.get('via', '')}", f"From: {headers.get('from', '')}",
            f"To: {headers.get('to', '')}", f"Call-ID: {headers.get('call-id', '')}",
            f"CSeq: {headers.get('cseq', '')}",
        ]), self.target)

    def _on_rtp(self, call: Call) -> None:
        phase = self.phase
        for data, at in receive_all(call.rtp):
            if len(data) < 12:
                continue
            sequence, timestamp = struct.unpack_from("!HI", data, 2)
            phase.packets += 1
            last = call.last
            if last is not None and (last[0] + 1) & 0xFFFF == sequence and (last[1] + 160) & 0xFFFFFFFF == timestamp:
                phase.jitter_ms.append(abs((at - last[2]) * 1000 - 20.0))
            call.last = (sequence, timestamp, at)

    # ------------------------------------------------------------------ OPTIONS pings
    async def ping_until(self, deadline: float, every: float = 0.05) -> None:
        loop = asyncio.get_running_loop()
        uri = f"sip:{self.number}@127.0.0.1:{self.target[1]}"
        port = self.pinger.getsockname()[1]
        next_at = loop.time()
        while loop.time() < deadline:
            call_id = f"{uuid.uuid4().hex}@ping"
            self.pings[call_id] = time.time()
            self.phase.pings += 1
            self.pinger.sendto(self._message([
                f"OPTIONS {uri} SIP/2.0", self._via(port),
                f"From: <sip:ping@127.0.0.1:{port}>;tag={uuid.uuid4().hex[:8]}", f"To: <{uri}>",
                f"Call-ID: {call_id}", "CSeq: 1 OPTIONS", "Max-Forwards: 70",
            ]), self.target)
            next_at += every
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _on_pong(self) -> None:
        for data, at in receive_all(self.pinger):
            _, headers = parse_sip(data)
            sent = self.pings.pop(headers.get("call-id", ""), None)
            if sent is not None:
                self.phase.rtt_ms.append((at - sent) * 1000)
