"""One RTP stream of one call leg: paced sending, decoding, DTMF, and relaying to another leg.

Receiving, relaying and DTMF run on the event loop, through the loop's transport. Paced audio is
sent by the media process (:mod:`ivr.channels.sip.mediaproc`, given a duplicate of the socket's
descriptor and the RTP header state per stream) or the media thread (:mod:`ivr.channels.sip.pacer`)
through its own handle on the same socket (``media_socket``, a duplicate of the descriptor): the
loop's transports are not thread-safe.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from ivr.channels.sip import g711, udpsend
from ivr.channels.sip.rtp import DtmfDetector, RtpPacket, RtpParseError, build_rtp, build_telephone_event, parse_rtp
from ivr.channels.sip.sdp import Codec
from ivr.channels.sip.stats import FRAME_SAMPLES, FRAME_SECONDS

if TYPE_CHECKING:
    from ivr.channels.sip.stats import PacingStats

log = logging.getLogger("ivr.sip.media")


class MediaSocket(Protocol):
    """What the media thread sends through (a :class:`socket.socket`; tests put a failing one)."""

    def sendto(self, data: bytes, address: tuple[str, int], /) -> int: ...

    def close(self) -> None: ...


class Pacer(Protocol):
    """What a session streams through: the media thread or the media process."""

    stats: PacingStats

    async def play(self, session: RtpSession, audio: bytes, stop: Callable[[], bool] | None,
                   since: float | None = None) -> bool: ...

    def forget(self, session: RtpSession) -> None: ...


class RtpSession(asyncio.DatagramProtocol):
    """A UDP socket for one leg. Create with :func:`open_session`."""

    def __init__(self, pacer: Pacer) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.media_socket: MediaSocket | None = None
        self._media_lock = threading.Lock()  # a send on the media thread vs. close on the loop
        self._family = socket.AF_INET
        self._remote: tuple[str, int] | None = None
        self._remote_error: str | None = None
        self._sockaddr: bytes | None = None  # the remote, ready for udpsend
        self._loop: asyncio.AbstractEventLoop | None = None
        self.codec = Codec.PCMU
        self.dtmf_pt: int | None = None
        self.on_digit: Callable[[str], None] | None = None
        self.pcm_listeners: list[Callable[[bytes], None]] = []
        self.relay_to: RtpSession | None = None
        self.packets_received = 0
        self.call_id = ""  # the SIP Call-ID of the leg, for logs
        # Called (once, soon after) when sending to the peer fails: the endpoint ends that call.
        self.on_send_failure: Callable[[], None] | None = None
        self.send_failed = False
        self.receive_faults = 0
        self._pacer = pacer
        self._detector = DtmfDetector()
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._last_send = 0.0
        self._sending = asyncio.Lock()

    @property
    def local_port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    # ------------------------------------------------------------------ receiving
    @property
    def remote(self) -> tuple[str, int] | None:
        return self._remote

    @remote.setter
    def remote(self, value: tuple[str, int] | None) -> None:
        """Where media goes: an IP literal of the socket's family (SDP is checked at the edge; this
        keeps the media thread from ever resolving a name or meeting another family)."""
        self._remote, self._remote_error, self._sockaddr = value, None, None
        if value is None:
            return
        try:
            version = ipaddress.ip_address(value[0].split("%", 1)[0]).version
        except ValueError:
            self._remote_error = f"{value[0]!r} is not an IP address"
            return
        if (version == 6) != (self._family == socket.AF_INET6):
            self._remote_error = f"{value[0]!r}: socket family mismatch"
        elif udpsend.AVAILABLE:
            try:
                self._sockaddr = udpsend.sockaddr(value[0], value[1])
            except (ValueError, OSError) as exc:
                self._remote_error = str(exc)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (In 3.11 the selector datagram transport is not a DatagramTransport subclass.)
        self.transport = cast(asyncio.DatagramTransport, transport)
        self._loop = asyncio.get_running_loop()
        raw = transport.get_extra_info("socket")
        if raw is not None:
            self._family = raw.family
            self.media_socket = socket.socket(raw.family, socket.SOCK_DGRAM, fileno=os.dup(raw.fileno()))
            self.media_socket.setblocking(False)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets_received += 1
        try:
            self._receive(data)
        except Exception:  # a packet we fail on costs that packet, not the socket (uvloop closes it)
            self.receive_faults += 1
            if self.receive_faults == 1:
                log.exception("RTP packet handling failed; dropping such packets", extra={"sip_call_id": self.call_id})

    def _receive(self, data: bytes) -> None:
        if self.relay_to is not None:
            self.relay_to.send_raw(data)  # a bridge passes media (and DTMF events) through untouched
        try:
            packet = parse_rtp(data)
        except RtpParseError:
            return  # RTCP on the RTP port, stray noise: not ours to interpret
        if packet.payload_type == self.dtmf_pt:
            digit = self._detector.feed(packet, asyncio.get_running_loop().time())
            if digit is not None and self.on_digit is not None:
                self.on_digit(digit)
        elif packet.payload_type == self.codec and self.pcm_listeners:
            pcm = g711.decode(packet.payload, self.codec)
            for listener in list(self.pcm_listeners):
                listener(pcm)

    def error_received(self, exc: Exception) -> None:
        log.debug("rtp socket error", extra={"error": repr(exc)})

    # ------------------------------------------------------------------ sending
    def send_raw(self, data: bytes) -> None:
        if self.send_failed or self.transport is None or self.remote is None or self.transport.is_closing():
            return
        if self._remote_error is not None:
            self.fail(ValueError(self._remote_error))
            return
        try:
            self.transport.sendto(data, self.remote)
        except Exception as exc:  # noqa: BLE001 - any send fault is this call's alone
            self.fail(exc)

    def send_paced(self, data: bytes) -> None:
        """One datagram from the media thread, through its own handle on the socket."""
        with self._media_lock:
            sock = self.media_socket
            if self.send_failed or sock is None or self._remote is None:
                return
            if self._remote_error is not None:
                raise ValueError(self._remote_error)
            if self._sockaddr is not None and isinstance(sock, socket.socket):
                udpsend.send(sock.fileno(), data, self._sockaddr)  # keeps the GIL (see udpsend)
                return  # (a full buffer loses this frame, as a congested link would)
            try:
                sock.sendto(data, self._remote)
            except BlockingIOError:
                return  # the socket's buffer is full: this frame is lost, as on a congested link

    def fail(self, exc: Exception) -> None:
        """Sending to this peer failed (a bad address, a closed socket): stop, count, end the call.

        SDP addresses are checked when they arrive, so this is the last line of defence: it runs
        on the media thread (or in a relay), which must go on sending every other call's audio.
        """
        if self.send_failed:
            return
        self.send_failed = True
        self._pacer.stats.send_errors += 1
        log.warning(
            "RTP send failed; ending the call",
            extra={"sip_call_id": self.call_id, "peer": repr(self.remote), "error": repr(exc)},
        )
        if self.on_send_failure is not None and self._loop is not None:
            # On the loop (this may be the media thread): ending a leg closes sockets, wakes listeners.
            try:
                self._loop.call_soon_threadsafe(self.on_send_failure)
            except RuntimeError:  # the loop is closed: the call is gone with it
                return

    def _send_frame(
        self, payload: bytes, *, marker: bool, payload_type: int | None = None, advance: bool = True,
        send: Callable[[bytes], None] | None = None,
    ) -> None:
        pt = int(self.codec) if payload_type is None else payload_type
        (send or self.send_raw)(build_rtp(RtpPacket(pt, marker, self._sequence, self._timestamp, self._ssrc, payload)))
        self._sequence = (self._sequence + 1) & 0xFFFF
        if advance:
            self._timestamp = (self._timestamp + len(payload)) & 0xFFFFFFFF

    def _start_talkspurt(self, now: float) -> None:
        # Keep the RTP clock tied to wall time across silent gaps (RFC 3550 §5.1).
        if self._last_send:
            gap = int(max(0.0, now - self._last_send - FRAME_SECONDS) * 8000)
            self._timestamp = (self._timestamp + gap) & 0xFFFFFFFF

    async def stream(self, audio: bytes, stop: Callable[[], bool] | None = None, *, since: float | None = None) -> bool:
        """Send encoded G.711 audio at 20 ms pacing; True when it all went out, False if stopped.

        ``stop`` is checked before every frame, so an interruption takes effect within 20 ms.
        """
        async with self._sending:
            return await self._pacer.play(self, audio, stop, since)

    @property
    def paced_sockaddr(self) -> bytes | None:
        """The remote as the media process sends to it (None: no remote, or not one it can take)."""
        if self.send_failed or self._remote_error is not None:
            return None
        return self._sockaddr

    def begin_stream(self, now: float) -> tuple[int, int, int, int]:
        """The header state for a stream another process sends: SSRC, payload type, sequence, timestamp."""
        self._start_talkspurt(now)
        return self._ssrc, int(self.codec), self._sequence, self._timestamp

    def end_stream(self, frames: int, sequence: int, timestamp: int, now: float) -> None:
        """Where that stream left the header state, for what this session sends next."""
        self._sequence, self._timestamp = sequence & 0xFFFF, timestamp & 0xFFFFFFFF
        if frames:
            self._last_send = now

    def send_frame_at(self, payload: bytes, now: float, *, first: bool) -> None:
        """One audio frame, sent by the pacer's tick on the media thread (``first``: a new
        talkspurt begins; ``now`` is ``time.monotonic()``). Raises when the send fails."""
        if first:
            self._start_talkspurt(now)
        self._send_frame(payload, marker=first, send=self.send_paced)
        self._last_send = now

    async def send_dtmf(self, digit: str, *, duration_ms: int = 160) -> None:
        """RFC 4733 event packets every 20 ms, then three end packets (one event timestamp)."""
        if self.dtmf_pt is None:
            return
        async with self._sending:
            self._start_talkspurt(time.monotonic())  # the media thread's clock (_last_send)
            steps = max(1, duration_ms // 20)
            for step in range(1, steps + 1):
                payload = build_telephone_event(digit, end=False, duration=step * FRAME_SAMPLES)
                self._send_frame(payload, marker=step == 1, payload_type=self.dtmf_pt, advance=False)
                await asyncio.sleep(FRAME_SECONDS)
            end = build_telephone_event(digit, end=True, duration=steps * FRAME_SAMPLES)
            for _ in range(3):
                self._send_frame(end, marker=False, payload_type=self.dtmf_pt, advance=False)
            self._timestamp = (self._timestamp + steps * FRAME_SAMPLES) & 0xFFFFFFFF
            self._last_send = time.monotonic()

    def close(self) -> None:
        self._pacer.forget(self)  # the media process stops sending for it now
        self.relay_to = None
        self.pcm_listeners.clear()
        with self._media_lock:  # not while the media thread is sending through it
            sock, self.media_socket = self.media_socket, None
        if sock is not None:
            sock.close()
        if self.transport is not None:
            self.transport.close()


async def open_session(host: str, port_min: int, port_max: int, pacer: Pacer) -> RtpSession:
    """Bind an RTP socket on an even port in [port_min, port_max] (port_min 0: any free port)."""
    loop = asyncio.get_running_loop()
    if port_min <= 0:
        candidates = [0]
    else:
        first = port_min + (port_min % 2)
        span = max(1, (port_max - first) // 2)
        candidates = [first + 2 * secrets.randbelow(span) for _ in range(20)]
    last_error: OSError | None = None
    for port in candidates:
        try:
            _, protocol = await loop.create_datagram_endpoint(lambda: RtpSession(pacer), local_addr=(host, port))
        except OSError as exc:
            last_error = exc
            continue
        return protocol
    raise OSError(f"no free RTP port in {port_min}-{port_max}") from last_error
