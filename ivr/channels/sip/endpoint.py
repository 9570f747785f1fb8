"""The built-in SIP endpoint: one UDP socket, server transactions, inbound calls, dispatch.

Requests are answered from the datagram callback (no task per message), by the handlers of
:mod:`ivr.channels.sip.uas`; each inbound call runs in the endpoint's TaskGroup
(:mod:`ivr.channels.sip.inboundcall`). Outbound calls live in :mod:`ivr.channels.sip.dialer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.credentials import AgentSecrets, load_agent_secrets
from ivr.channels.sip.dialer import dial
from ivr.channels.sip.errors import SdpError
from ivr.channels.sip.flood import SipFloodGuard
from ivr.channels.sip.inbound import bad_request_for
from ivr.channels.sip.inboundcall import CallHandler, run_inbound_call
from ivr.channels.sip.leg import Direction, EndedBy, Leg, LegState
from ivr.channels.sip.mediaproc import make_pacer
from ivr.channels.sip.message import SipMessage, SipParseError, SipRequest, SipResponse, parse_message, response_to
from ivr.channels.sip.registrar import Registrar, Registrations, resolve_target
from ivr.channels.sip.sdp import Negotiated, ip_version_of
from ivr.channels.sip.stats import EndpointStats, PacingStats
from ivr.channels.sip.transactions import Address, Retransmitter, ServerTransactions, Timers
from ivr.channels.sip.uas import ALLOW, SUPPORTED_CODECS, RequestHandlers
from ivr.errors import listen_error
from ivr.settings import SipSettings

if TYPE_CHECKING:
    from ivr.speech.factory import SpeechEngines

log = logging.getLogger("ivr.sip")


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._endpoint.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("sip socket error", extra={"error": repr(exc)})


class SipEndpoint:
    """Component ``sip``: answers calls and hands each to ``handler`` as a :class:`SipChannel`."""

    name = "sip"

    def __init__(
        self,
        settings: SipSettings,
        *,
        handler: CallHandler,
        audio: AudioLibrary,
        speech: SpeechEngines | None = None,
        timers: Timers | None = None,
        secrets: AgentSecrets | None = None,
    ) -> None:
        self.settings = settings
        self.timers = timers or Timers(t1=settings.t1, t2=settings.t2)
        self.audio = audio
        self.speech = speech
        self.stats = EndpointStats()
        self.pacing = PacingStats()
        self.pacer = make_pacer(settings.media, self.pacing, niceness=settings.media_niceness,
                                realtime=settings.media_realtime_priority)
        self.flood = SipFloodGuard(settings)
        self.registrations = Registrations(settings, secrets if secrets is not None else load_agent_secrets(settings))
        self.handler = handler
        self._transport: asyncio.DatagramTransport | None = None
        self._tg: asyncio.TaskGroup | None = None
        self.retransmitter = Retransmitter(self._send, self.timers)
        self.server_tx = ServerTransactions(self.timers, max_entries=settings.max_transactions)
        self._client_tx: dict[str, Callable[[SipResponse], None]] = {}
        self.legs: dict[str, Leg] = {}
        self.opening: set[str] = set()  # Call-IDs of accepted INVITEs whose leg is not made yet
        self.address: Address = (settings.host, settings.port)
        self.media_ip_version = ip_version_of(settings.rtp_host)  # the only family SDP may name
        self.requests = RequestHandlers(self)

    @property
    def listening(self) -> bool:
        """True while the UDP socket is open (``/ready`` asks)."""
        return self._transport is not None and not self._transport.is_closing()

    # ------------------------------------------------------------------ lifecycle
    async def run(self, started: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.settings.host, self.settings.port)
            )
        except OSError as exc:
            raise listen_error("SIP (UDP)", self.settings.host, self.settings.port, "IVR_SIP__PORT", exc) from exc
        self._transport = transport
        self.address = transport.get_extra_info("sockname")[:2]
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self.retransmitter.run(), name="sip-retransmit")
                tg.create_task(self._housekeeping(), name="sip-housekeeping")
                tg.create_task(self.pacer.run(), name="sip-rtp-pacer")
                log.info("sip endpoint listening", extra={"address": f"{self.address[0]}:{self.address[1]}"})
                started.set()
                await asyncio.Future()
        finally:
            self._tg = None
            for leg in list(self.legs.values()):
                leg.end(EndedBy.LOCAL)
            transport.close()
            self._transport = None

    @property
    def registrar(self) -> Registrar:
        return self.registrations.registrar

    @property
    def server_transactions(self) -> int:
        return len(self.server_tx)

    @property
    def contact(self) -> str:
        return f"sip:puente@{self.address[0]}:{self.address[1]}"

    async def _housekeeping(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            try:
                self._sweep(loop.time())
            except Exception:  # a bad entry must not end housekeeping for good
                self.stats.internal_errors += 1
                log.exception("SIP housekeeping failed; trying again in a second")

    def _sweep(self, now: float) -> None:
        self.server_tx.expire(now)
        self.registrar.expire(now)
        for call_id, leg in list(self.legs.items()):
            if leg.state is LegState.ENDED and not self.retransmitter.active(("2xx", call_id)):
                del self.legs[call_id]

    def spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        if self._tg is None:
            raise RuntimeError("the SIP endpoint is not running")
        return self._tg.create_task(coro, name=name)  # type: ignore[arg-type]

    def start_inbound_call(self, request: SipRequest, addr: Address, negotiated: Negotiated) -> None:
        """Run an accepted INVITE's call in the TaskGroup (its Call-ID is in ``opening`` meanwhile)."""
        self.opening.add(request.call_id)
        self.spawn(run_inbound_call(self, request, addr, negotiated), name=f"sip-call-{request.call_id[:16]}")

    # ------------------------------------------------------------------ wire
    def _send(self, data: bytes, addr: Address) -> bool:
        """Send one datagram; False (counted, logged) when the socket refuses the destination.

        Destinations come from peers (Contact, registrations, agent URIs): one the socket cannot
        use (another address family, a name) must fail that transaction only, never the caller.
        """
        if self._transport is None or self._transport.is_closing():
            return True  # shutting down: nothing to retry
        try:
            self._transport.sendto(data, addr)
        except Exception as exc:  # noqa: BLE001 - uvloop raises ValueError, asyncio OverflowError ...
            self.stats.send_errors += 1
            log.warning("SIP send failed", extra={"peer": repr(addr)[:80], "error": repr(exc)[:200]})
            return False
        return True

    def send_message(self, message: SipMessage, addr: Address) -> None:
        self._send(message.to_bytes(), addr)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not self.flood.admit(addr):
            return  # past its source's rate: dropped unparsed (counted and noted by the guard)
        if not data.strip():
            return  # CRLF keep-alive (RFC 5626 §4.4.1)
        try:
            self._dispatch(data, addr)
        except (SipParseError, SdpError, ValueError) as exc:
            # One bad message must never take the endpoint down: log it and carry on.
            self.stats.malformed += 1
            log.warning("unusable SIP message dropped", extra={"error": str(exc), "peer": f"{addr[0]}:{addr[1]}"})
        except Exception:  # nor may a fault of ours in handling one message
            self.stats.internal_errors += 1
            log.exception("SIP message handling failed; message dropped", extra={"peer": f"{addr[0]}:{addr[1]}"})

    def _dispatch(self, data: bytes, addr: Address) -> None:
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.stats.malformed += 1
            self._reject_malformed(exc, addr)
            return
        if isinstance(message, SipResponse):
            self._on_response(message)
        else:
            self.requests.on_request(message, addr)

    def _reject_malformed(self, exc: SipParseError, addr: Address) -> None:
        log.info("malformed SIP", extra={"error": exc.reason, "peer": f"{addr[0]}:{addr[1]}"})
        response = bad_request_for(exc)
        if response is not None:
            self.send_message(response, addr)

    def _on_response(self, response: SipResponse) -> None:
        callback = self._client_tx.get(response.branch)
        if callback is not None:
            callback(response)

    def register_client_tx(self, branch: str, callback: Callable[[SipResponse], None]) -> None:
        self._client_tx[branch] = callback

    def unregister_client_tx(self, branch: str) -> None:
        self._client_tx.pop(branch, None)

    # ------------------------------------------------------------------ responses (server transactions)
    def respond(
        self,
        request: SipRequest,
        addr: Address,
        status: int,
        reason: str,
        *,
        to_tag: str = "",
        body: bytes = b"",
        extra: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> SipResponse:
        response = response_to(request, status, reason, to_tag=to_tag, body=body)
        pairs = extra.items() if isinstance(extra, Mapping) else (extra or ())
        for name, value in pairs:
            response.headers.add(name, value)
        if body:
            response.headers.add("Content-Type", "application/sdp")
        tx = self.server_tx.find(request)
        if tx is not None and request.method not in ("ACK", "CANCEL"):  # CANCEL finds its INVITE
            tx.response = response
        if request.method == "INVITE" and status >= 300:
            # Timer G: repeat a failure response until its ACK arrives (hop-by-hop ACK, same branch).
            self.retransmitter.start(
                ("final", request.branch), response.to_bytes(), addr, cap=self.timers.t2, evictable=True
            )
        else:
            self.send_message(response, addr)
        return response

    def respond_2xx(self, request: SipRequest, addr: Address, leg: Leg) -> SipResponse:
        response = response_to(request, 200, "OK", to_tag=leg.local_tag, body=leg.local_sdp)
        response.headers.add("Contact", f"<{self.contact}>")
        response.headers.add("Allow", ALLOW)
        response.headers.add("Content-Type", "application/sdp")
        tx = self.server_tx.find(request)
        if tx is not None:
            tx.response = response

        def ack_timeout() -> None:
            log.warning("no ACK for our 200 OK; ending the call", extra={"sip_call_id": leg.call_id})
            self.hangup_leg(leg)

        self.retransmitter.start(
            ("2xx", leg.call_id), response.to_bytes(), addr, cap=self.timers.t2, on_give_up=ack_timeout
        )
        return response

    # ------------------------------------------------------------------ used by channels
    def active_calls(self) -> int:
        return sum(
            1 for leg in self.legs.values() if leg.direction is Direction.INBOUND and leg.state is not LegState.ENDED
        )

    def add_leg(self, leg: Leg) -> None:
        self.legs[leg.call_id] = leg
        leg.rtp.call_id = leg.call_id
        leg.rtp.on_send_failure = lambda: self.hangup_leg(leg)

    def answer(self, leg: Leg) -> None:
        assert leg.invite is not None and leg.invite_addr is not None
        self.respond_2xx(leg.invite, leg.invite_addr, leg)
        leg.state = LegState.CONFIRMED

    def hangup_leg(self, leg: Leg) -> None:
        """End a leg from our side: BYE when confirmed, 480 when an inbound call was never answered."""
        if leg.state is LegState.ENDED:
            return
        if leg.state is LegState.CONFIRMED:
            self.retransmitter.stop(("2xx", leg.call_id))
            bye = leg.in_dialog_request("BYE", self.contact, user_agent=self.settings.user_agent)
            self._send_tracked(bye, leg.remote_addr)
        elif leg.invite is not None and leg.invite_addr is not None:
            tx = self.server_tx.find(leg.invite)
            if tx is None or tx.response is None or tx.response.status < 200:
                self.respond(leg.invite, leg.invite_addr, 480, "Temporarily Unavailable", to_tag=leg.local_tag)
        leg.end(EndedBy.LOCAL)

    def _send_tracked(self, request: SipRequest, addr: Address) -> None:
        """Send a non-INVITE request with timer E retransmissions until its response (or timer F)."""
        branch = request.branch
        key = ("request", branch)

        def on_response(response: SipResponse) -> None:
            if response.status >= 200:
                self.retransmitter.stop(key)
                self.unregister_client_tx(branch)

        self.register_client_tx(branch, on_response)
        self.retransmitter.start(
            key, request.to_bytes(), addr, cap=self.timers.t2, on_give_up=lambda: self.unregister_client_tx(branch)
        )

    async def originate(self, uri: str, *, caller_id: str, timeout: float) -> SipChannel:
        """Call ``uri`` and return the answered call as a channel (for callbacks)."""
        leg = await dial(self, uri, caller_id=caller_id, timeout=timeout, codecs=SUPPORTED_CODECS)
        return SipChannel(self, leg)

    def resolve(self, endpoint: str) -> str:
        """An agent endpoint to a request URI: a registered AOR's contact, or the URI as given."""
        return resolve_target(self.registrar, self.address, endpoint, asyncio.get_running_loop().time())
