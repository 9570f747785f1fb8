"""Outbound calls: the INVITE client transaction (RFC 3261 §17.1.1), CANCEL, and ACK.

Used to ring agents (B2BUA) and for callbacks (``originate``). The outcome is a confirmed
:class:`Leg`, or :class:`OriginateFailed` with a precise reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import secrets
import socket
from collections.abc import Callable

from ivr.channels.sip.errors import OriginateCancelled, OriginateFailed, OriginateReason, SdpError
from ivr.channels.sip.leg import Direction, Leg, LegState
from ivr.channels.sip.media import RtpSession, open_session
from ivr.channels.sip.message import (
    Headers,
    SipParseError,
    SipRequest,
    SipResponse,
    address_uri,
    new_branch,
    new_tag,
    parse_uri,
)
from ivr.channels.sip.sdp import DEFAULT_DTMF_PT, Codec, build_sdp, ip_version_of, negotiate, parse_sdp
from ivr.channels.sip.transactions import Address
from ivr.channels.sip.transport import SipTransport

log = logging.getLogger("ivr.sip.dialer")

_PROBE_AFTER = 0.2  # no answer at all this soon: check the port is reachable (ICMP)


class _Signal(enum.Enum):
    TIMER_B = "timer_b"  # no response at all in 64·T1
    UNREACHABLE = "unreachable"  # ICMP port unreachable
    CANCEL = "cancel"  # the other party (our caller) left


_Item = SipResponse | _Signal


class _Probe(asyncio.DatagramProtocol):
    """A connected UDP socket that only listens for ICMP errors about the target."""

    def __init__(self, queue: asyncio.Queue[_Item]) -> None:
        self._queue = queue

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            self._queue.put_nowait(_Signal.UNREACHABLE)


def _failure_reason(status: int) -> OriginateReason:
    if status in (486, 600):
        return OriginateReason.BUSY
    if status in (404, 408, 410, 480, 502, 503, 504, 604):
        return OriginateReason.UNAVAILABLE
    return OriginateReason.FAILED


async def _resolve(host: str, port: int, ip_version: int) -> Address:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if literal.version != ip_version:  # the socket could not send there: say so now
            raise OriginateFailed(OriginateReason.UNAVAILABLE, detail=f"IPv{literal.version} target on an "
                                                                      f"IPv{ip_version} SIP socket")
        return host, port
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ip_version == 6 else socket.AF_INET
    try:
        infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise OriginateFailed(OriginateReason.UNAVAILABLE, detail=f"cannot resolve {host}") from exc
    return str(infos[0][4][0]), port


async def dial(
    endpoint: SipTransport,
    uri: str,
    *,
    caller_id: str,
    timeout: float,
    codecs: tuple[Codec, ...],
    cancel_on: Leg | None = None,
    on_ringing: Callable[[], None] | None = None,
) -> Leg:
    target = endpoint.resolve(uri)
    parsed = parse_uri(target)
    addr = await _resolve(parsed.host, parsed.port or 5060, ip_version_of(endpoint.address[0]))
    settings = endpoint.settings
    rtp = await open_session(settings.rtp_host, settings.rtp_port_min, settings.rtp_port_max, endpoint.pacer)
    call = _OutboundCall(endpoint, target, addr, rtp, caller_id=caller_id, codecs=codecs)
    try:
        return await call.run(timeout, cancel_on, on_ringing)
    except (Exception, asyncio.CancelledError):
        rtp.close()  # the media socket belongs to the leg only once it is confirmed
        raise
    finally:
        call.close()


class _OutboundCall:
    def __init__(
        self,
        endpoint: SipTransport,
        target: str,
        addr: Address,
        rtp: RtpSession,
        *,
        caller_id: str,
        codecs: tuple[Codec, ...],
    ) -> None:
        self.endpoint = endpoint
        self.target = target
        self.addr = addr
        self.rtp = rtp
        self.codecs = codecs
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.local_tag = new_tag()
        host, port = endpoint.address
        user = "".join(c for c in caller_id if c.isalnum() or c in "+-_.") or "puente"
        self.local_header = f'"{user}" <sip:{user}@{host}:{port}>;tag={self.local_tag}'
        self.sdp = build_sdp(settings_host(endpoint), rtp.local_port, codecs, DEFAULT_DTMF_PT)
        self.invite = self._build_invite()
        self.branch = self.invite.branch
        self._probe: asyncio.DatagramTransport | None = None
        self._listener: tuple[Leg, Callable[[], None]] | None = None
        self.confirmed = False

    def _build_invite(self) -> SipRequest:
        host, port = self.endpoint.address
        headers = Headers()
        headers.add("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_header)
        headers.add("To", f"<{self.target}>")
        headers.add("Call-ID", f"{secrets.token_hex(12)}@{host}")
        headers.add("CSeq", "1 INVITE")
        headers.add("Contact", f"<{self.endpoint.contact}>")
        headers.add("User-Agent", self.endpoint.settings.user_agent)
        headers.add("Content-Type", "application/sdp")
        return SipRequest("INVITE", self.target, headers, self.sdp)

    async def run(self, timeout: float, cancel_on: Leg | None, on_ringing: Callable[[], None] | None) -> Leg:
        loop = asyncio.get_running_loop()
        if cancel_on is not None:
            if cancel_on.state is LegState.ENDED:
                raise OriginateCancelled()

            def signal_cancel() -> None:
                self.queue.put_nowait(_Signal.CANCEL)

            cancel_on.end_listeners.append(signal_cancel)
            self._listener = (cancel_on, signal_cancel)
        self.endpoint.register_client_tx(self.branch, self.queue.put_nowait)
        self.endpoint.retransmitter.start(
            ("invite", self.branch),
            self.invite.to_bytes(),
            self.addr,
            cap=None,
            on_give_up=lambda: self.queue.put_nowait(_Signal.TIMER_B),
        )
        deadline = loop.time() + timeout
        probe_at = loop.time() + _PROBE_AFTER
        provisional = False
        while True:
            wake_at = deadline if provisional or self._probe is not None else min(deadline, probe_at)
            try:
                item = await asyncio.wait_for(self.queue.get(), max(0.0, wake_at - loop.time()))
            except TimeoutError:
                if loop.time() < deadline:
                    await self._start_probe()
                    continue
                await self._give_up(provisional)
                raise OriginateFailed(OriginateReason.NO_ANSWER, detail=f"no answer in {timeout:g} s") from None
            if isinstance(item, _Signal):
                self.endpoint.retransmitter.stop(("invite", self.branch))
                if item is _Signal.CANCEL:
                    await self._give_up(provisional)
                    raise OriginateCancelled()
                raise OriginateFailed(OriginateReason.UNAVAILABLE, status=408, detail=item.value)
            if item.cseq[1] != "INVITE":
                continue
            if item.status < 200:
                self.endpoint.retransmitter.stop(("invite", self.branch))
                if item.status > 100 and not provisional:
                    provisional = True
                    if on_ringing is not None:
                        on_ringing()
                elif item.status == 100:
                    provisional = True
                continue
            return self._final(item)

    def _final(self, response: SipResponse) -> Leg:
        self.endpoint.retransmitter.stop(("invite", self.branch))
        if response.status >= 300:
            self._ack_failure(response)
            raise OriginateFailed(_failure_reason(response.status), status=response.status, detail=response.reason)
        return self._confirm(response)

    def _confirm(self, response: SipResponse) -> Leg:
        contact = response.headers.get("Contact")
        remote_target = address_uri(contact) if contact else self.target
        leg = Leg(
            call_id=self.invite.call_id,
            direction=Direction.OUTBOUND,
            local_tag=self.local_tag,
            local_header=self.local_header,
            remote_header=response.headers.get("To") or f"<{self.target}>",
            remote_target=remote_target,
            remote_addr=self.addr if not contact else _contact_addr(remote_target, self.addr),
            rtp=self.rtp,
            local_sdp=self.sdp,
            cseq=1,
            state=LegState.CONFIRMED,
        )
        ack = self._ack_2xx(leg)
        try:
            negotiated = negotiate(parse_sdp(response.body), self.codecs, ip_version=self.endpoint.media_ip_version)
        except SdpError as exc:
            self.endpoint.hangup_leg(leg)
            raise OriginateFailed(OriginateReason.FAILED, status=response.status, detail=str(exc)) from exc
        self.rtp.remote = (negotiated.host, negotiated.port)
        self.rtp.codec = negotiated.codec
        self.rtp.dtmf_pt = negotiated.dtmf_pt
        self.rtp.on_digit = leg.digit
        self.endpoint.add_leg(leg)
        self.confirmed = True

        def reack(retransmitted: SipResponse) -> None:
            if 200 <= retransmitted.status < 300:
                self.endpoint.send_message(ack, leg.remote_addr)  # our ACK was lost: the 2xx came again

        self.endpoint.register_client_tx(self.branch, reack)
        branch = self.branch
        leg.end_listeners.append(lambda: self.endpoint.unregister_client_tx(branch))
        return leg

    def _ack_2xx(self, leg: Leg) -> SipRequest:
        ack = leg.in_dialog_request("ACK", self.endpoint.contact, user_agent=self.endpoint.settings.user_agent)
        ack.headers.set("CSeq", "1 ACK")
        leg.cseq = 1
        self.endpoint.send_message(ack, leg.remote_addr)
        return ack

    def _ack_failure(self, response: SipResponse) -> None:
        # RFC 3261 §17.1.1.3: same branch, To from the response.
        headers = Headers()
        headers.add("Via", self.invite.headers.get("Via") or "")
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_header)
        headers.add("To", response.headers.get("To") or "")
        headers.add("Call-ID", self.invite.call_id)
        headers.add("CSeq", "1 ACK")
        self.endpoint.send_message(SipRequest("ACK", self.target, headers), self.addr)

    async def _give_up(self, provisional: bool) -> None:
        """Stop ringing: CANCEL once a provisional response came (RFC 3261 §9.1), else just stop."""
        self.endpoint.retransmitter.stop(("invite", self.branch))
        if not provisional:
            return
        headers = Headers()
        headers.add("Via", self.invite.headers.get("Via") or "")
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_header)
        headers.add("To", f"<{self.target}>")
        headers.add("Call-ID", self.invite.call_id)
        headers.add("CSeq", "1 CANCEL")
        cancel = SipRequest("CANCEL", self.target, headers)
        self.endpoint.retransmitter.start(
            ("cancel", self.branch), cancel.to_bytes(), self.addr, cap=self.endpoint.timers.t2
        )
        try:
            await self._await_final_after_cancel()
        finally:
            self.endpoint.retransmitter.stop(("cancel", self.branch))

    async def _await_final_after_cancel(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.endpoint.timers.b
        while (remaining := deadline - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(self.queue.get(), remaining)
            except TimeoutError:
                return
            if isinstance(item, _Signal):
                continue
            if item.cseq[1] == "CANCEL":
                self.endpoint.retransmitter.stop(("cancel", self.branch))
                continue
            if item.status >= 300:
                self._ack_failure(item)
                return
            if item.status >= 200:  # answered while we cancelled: take it and hang up at once
                with contextlib.suppress(OriginateFailed):
                    leg = self._confirm(item)
                    self.endpoint.hangup_leg(leg)
                return

    async def _start_probe(self) -> None:
        if self._probe is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Probe(self.queue), remote_addr=self.addr)
        except OSError:
            self.queue.put_nowait(_Signal.UNREACHABLE)
            return
        self._probe = transport
        transport.sendto(b"\r\n\r\n")  # a SIP keep-alive: harmless to a live peer

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        if self._listener is not None:
            leg, listener = self._listener
            with contextlib.suppress(ValueError):
                leg.end_listeners.remove(listener)
        if not self.confirmed:  # a confirmed leg keeps its 2xx re-ACK handler until it ends
            self.endpoint.unregister_client_tx(self.branch)
        self.endpoint.retransmitter.stop(("invite", self.branch))


def settings_host(endpoint: SipTransport) -> str:
    return endpoint.settings.rtp_host


def _contact_addr(uri: str, fallback: Address) -> Address:
    """Where in-dialog requests go: the Contact's address when it is a literal of our family."""
    try:
        parsed = parse_uri(uri)
        literal = ipaddress.ip_address(parsed.host)
    except (SipParseError, ValueError):
        return fallback
    if literal.version != ip_version_of(fallback[0]):
        return fallback
    return parsed.host, parsed.port or 5060
