"""The built-in endpoint as the server of peers' requests (RFC 3261's UAS): one handler per method,
answered from the datagram callback. INVITE opens a call (run by :mod:`ivr.channels.sip.inboundcall`);
BYE, CANCEL, INFO and re-INVITE act on the call their dialog names; REGISTER goes to the registrar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from ivr.channels.sip.errors import SdpError
from ivr.channels.sip.inbound import dtmf_relay_digit
from ivr.channels.sip.leg import EndedBy, Leg, LegState
from ivr.channels.sip.message import SipMessage, SipRequest, SipResponse, new_tag, tag_of
from ivr.channels.sip.registrar import Registrations
from ivr.channels.sip.sdp import Codec, Negotiated, negotiate, parse_sdp
from ivr.channels.sip.stats import EndpointStats
from ivr.channels.sip.transactions import Address, Retransmitter, ServerTransactions
from ivr.settings import SipSettings

log = logging.getLogger("ivr.sip")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER"
SUPPORTED_CODECS = (Codec.PCMU, Codec.PCMA)
_OTHER_METHODS = frozenset({"UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "MESSAGE", "REFER", "PUBLISH"})


class UasEndpoint(Protocol):
    """What the handlers use of the endpoint (:class:`~ivr.channels.sip.endpoint.SipEndpoint`)."""

    settings: SipSettings
    stats: EndpointStats
    registrations: Registrations
    retransmitter: Retransmitter
    server_tx: ServerTransactions
    legs: dict[str, Leg]
    opening: set[str]
    media_ip_version: int

    def respond(self, request: SipRequest, addr: Address, status: int, reason: str, *, to_tag: str = "",
                body: bytes = b"", extra: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
                ) -> SipResponse: ...

    def respond_2xx(self, request: SipRequest, addr: Address, leg: Leg) -> SipResponse: ...

    def send_message(self, message: SipMessage, addr: Address) -> None: ...

    def active_calls(self) -> int: ...

    def start_inbound_call(self, request: SipRequest, addr: Address, negotiated: Negotiated) -> None: ...


class RequestHandlers:
    """Peers' requests to the endpoint, one method each; retransmissions absorbed."""

    def __init__(self, endpoint: UasEndpoint) -> None:
        self._ep = endpoint

    def on_request(self, request: SipRequest, addr: Address) -> None:
        """Answer one request (not a retransmission: that gets the last response again)."""
        if request.method == "ACK":
            self._on_ack(request)
            return
        existing = self._ep.server_tx.find(request) if request.method != "CANCEL" else None
        if existing is not None and existing.request.method == request.method:
            # Absorb the retransmission: repeat the last response (an INVITE's failure response
            # repeats on timer G instead).
            response = existing.response
            if response is not None and (response.status < 300 or request.method != "INVITE"):
                self._ep.send_message(response, addr)
            return
        now = asyncio.get_running_loop().time()
        if request.method != "CANCEL":
            self._ep.server_tx.create(request, addr, now)
        handlers = {
            "INVITE": self._on_invite,
            "BYE": self._on_bye,
            "CANCEL": self._on_cancel,
            "OPTIONS": self._on_options,
            "INFO": self._on_info,
            "REGISTER": self._on_register,
        }
        handler = handlers.get(request.method)
        if handler is None:
            known = request.method in _OTHER_METHODS  # a SIP method we do not take: 405, else 501
            status, reason = (405, "Method Not Allowed") if known else (501, "Not Implemented")
            self._ep.respond(request, addr, status, reason, extra={"Allow": ALLOW})
            return
        handler(request, addr)

    def _on_ack(self, request: SipRequest) -> None:
        # A failure response's ACK shares its INVITE's branch; a 2xx's ACK is a new transaction.
        if not self._ep.retransmitter.stop(("final", request.branch)):
            self._ep.retransmitter.stop(("2xx", request.call_id))

    def _on_options(self, request: SipRequest, addr: Address) -> None:
        capabilities = {"Allow": ALLOW, "Accept": "application/sdp, application/dtmf-relay"}
        self._ep.respond(request, addr, 200, "OK", to_tag=new_tag(), extra=capabilities)

    def _on_register(self, request: SipRequest, addr: Address) -> None:
        reply = self._ep.registrations.handle(request, asyncio.get_running_loop().time())
        self._ep.respond(request, addr, reply.status, reply.reason, to_tag=new_tag(), extra=reply.headers)

    def _dialog_leg(self, request: SipRequest) -> Leg | None:
        """The leg an in-dialog request belongs to: same Call-ID and, when it carries one, our tag.

        A request of an earlier dialog that reused the Call-ID (its To tag is the old leg's tag)
        must not reach the new call.
        """
        leg = self._ep.legs.get(request.call_id)
        to_tag = tag_of(request.headers.get("To"))
        if leg is None or (to_tag and to_tag != leg.local_tag):
            return None
        return leg

    def _on_bye(self, request: SipRequest, addr: Address) -> None:
        leg = self._dialog_leg(request)
        if leg is None or leg.state is LegState.ENDED:
            self._ep.respond(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        self._ep.respond(request, addr, 200, "OK")
        self._ep.retransmitter.stop(("2xx", leg.call_id))
        leg.end(EndedBy.REMOTE)

    def _on_cancel(self, request: SipRequest, addr: Address) -> None:
        tx = self._ep.server_tx.find(request)
        if tx is None:
            self._ep.respond(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        self._ep.respond(request, addr, 200, "OK")
        if tx.response is not None and tx.response.status >= 200:
            return  # already answered or rejected: the CANCEL has no effect (RFC 3261 §9.2)
        leg = self._ep.legs.get(request.call_id)
        self._ep.respond(tx.request, tx.addr, 487, "Request Terminated", to_tag=leg.local_tag if leg else new_tag())
        if leg is not None:
            leg.end(EndedBy.REMOTE)

    def _on_info(self, request: SipRequest, addr: Address) -> None:
        leg = self._dialog_leg(request)
        if leg is None:
            self._ep.respond(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        self._ep.respond(request, addr, 200, "OK")
        content_type = (request.headers.get("Content-Type") or "").lower()
        if "dtmf" in content_type:
            digit = dtmf_relay_digit(request.body)
            if digit:
                leg.digit(digit)

    def _on_invite(self, request: SipRequest, addr: Address) -> None:
        if tag_of(request.headers.get("To")):
            self._on_reinvite(request, addr)
            return
        if self._ep.active_calls() >= self._ep.settings.max_calls:
            self._ep.stats.calls_rejected += 1
            self._ep.respond(request, addr, 503, "Service Unavailable", to_tag=new_tag(), extra={"Retry-After": "5"})
            return
        live = self._ep.legs.get(request.call_id)
        if request.call_id in self._ep.opening or (live is not None and live.state is not LegState.ENDED):
            # A new dialog on the Call-ID of a live call: legs are found by Call-ID, so refuse it
            # (RFC 3261 §8.2.2.2 calls the same From tag a merged request: 482).
            same_caller = live is not None and tag_of(request.headers.get("From")) == tag_of(live.remote_header)
            status, reason = (482, "Loop Detected") if same_caller else (400, "Call-ID In Use")
            self._ep.respond(request, addr, status, reason, to_tag=new_tag(),
                         extra={"Warning": '399 puente "the Call-ID belongs to a call in progress"'})
            return
        try:
            negotiated = negotiate(parse_sdp(request.body), SUPPORTED_CODECS, ip_version=self._ep.media_ip_version)
        except SdpError as exc:
            self._not_acceptable(request, addr, exc, to_tag=new_tag())
            return
        self._ep.respond(request, addr, 100, "Trying")
        self._ep.stats.calls_in += 1
        self._ep.start_inbound_call(request, addr, negotiated)

    def _not_acceptable(self, request: SipRequest, addr: Address, exc: SdpError, *, to_tag: str) -> None:
        reason = str(exc).replace('"', "'")[:200]
        log.info("SDP refused (488)", extra={"sip_call_id": request.call_id[:64], "reason": reason})
        warning = {"Warning": f'399 puente "{reason}"'}
        self._ep.respond(request, addr, 488, "Not Acceptable Here", to_tag=to_tag, extra=warning)

    def _on_reinvite(self, request: SipRequest, addr: Address) -> None:
        leg = self._dialog_leg(request)
        if leg is None or leg.state is LegState.ENDED:
            self._ep.respond(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        if request.body:
            # An offer we could not send to is refused and the session goes on unchanged (§14.2).
            try:
                negotiate(parse_sdp(request.body), SUPPORTED_CODECS, ip_version=self._ep.media_ip_version)
            except SdpError as exc:
                self._not_acceptable(request, addr, exc, to_tag=leg.local_tag)
                return
        # We keep our media as it is (a hold re-INVITE still gets our stream): answer with our SDP.
        response = self._ep.respond_2xx(request, addr, leg)
        log.debug("re-INVITE answered", extra={"status": response.status})

