"""One inbound call, start to end: its leg opened (RTP socket, SDP answer), the call handler run
on a :class:`~ivr.channels.sip.channel.SipChannel`, the call ended. Runs in the endpoint's
TaskGroup, so this is the call's fault boundary: a fault ends this call only (counted, logged)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.inbound import open_inbound_leg
from ivr.channels.sip.leg import EndedBy, Leg, LegState
from ivr.channels.sip.message import SipRequest, SipResponse, new_tag
from ivr.channels.sip.sdp import Negotiated
from ivr.channels.sip.stats import EndpointStats
from ivr.channels.sip.transactions import Address, ServerTransactions
from ivr.channels.sip.transport import SipTransport

log = logging.getLogger("ivr.sip")

CallHandler = Callable[[SipChannel], Awaitable[None]]


class CallEndpoint(SipTransport, Protocol):
    """What a call uses of the endpoint (:class:`~ivr.channels.sip.endpoint.SipEndpoint`)."""

    handler: CallHandler
    stats: EndpointStats
    server_tx: ServerTransactions
    opening: set[str]

    def respond(self, request: SipRequest, addr: Address, status: int, reason: str, *, to_tag: str = "",
                body: bytes = b"", extra: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
                ) -> SipResponse: ...


async def run_inbound_call(ep: CallEndpoint, request: SipRequest, addr: Address, negotiated: Negotiated) -> None:
    """One inbound call, start to end. Runs in the endpoint's TaskGroup, so nothing may escape:
    a fault here ends this call (counted, logged), never the endpoint and every other call."""
    leg: Leg | None = None
    try:
        try:
            leg = await _open_inbound(ep, request, addr, negotiated)
        finally:
            ep.opening.discard(request.call_id)
        if leg is not None:
            await _run_call(ep, leg)
    except Exception:  # the fault boundary of one call
        ep.stats.call_faults += 1
        log.exception("SIP call failed; ending it", extra={"sip_call_id": request.call_id[:64]})
        _end_after_fault(ep, leg, request, addr)


def _end_after_fault(ep: CallEndpoint, leg: Leg | None, request: SipRequest, addr: Address) -> None:
    try:
        if leg is not None:
            ep.hangup_leg(leg)
        else:
            _refuse_unopened(ep, request, addr)
    except Exception:  # still inside the one call's fault boundary
        log.exception("could not end a failed SIP call cleanly", extra={"sip_call_id": request.call_id[:64]})
        if leg is not None:
            leg.state = LegState.ENDED  # housekeeping forgets it


async def _open_inbound(ep: CallEndpoint, request: SipRequest, addr: Address, negotiated: Negotiated) -> Leg | None:
    try:
        leg = await open_inbound_leg(ep.settings, ep.pacer, request, addr, negotiated)
    except OSError as exc:  # no free RTP port
        log.warning("no RTP port for an inbound call", extra={"sip_call_id": request.call_id[:64],
                                                              "error": str(exc)})
        _refuse_unopened(ep, request, addr)
        return None
    ep.add_leg(leg)
    tx = ep.server_tx.find(request)
    if tx is not None and tx.response is not None and tx.response.status >= 200:
        leg.end(EndedBy.REMOTE)  # cancelled while the media socket was opening
        return None
    return leg


def _refuse_unopened(ep: CallEndpoint, request: SipRequest, addr: Address) -> None:
    tx = ep.server_tx.find(request)
    if tx is None or tx.response is None or tx.response.status < 200:
        ep.respond(request, addr, 503, "Service Unavailable", to_tag=new_tag())


async def _run_call(ep: CallEndpoint, leg: Leg) -> None:
    channel = SipChannel(ep, leg)
    try:
        await ep.handler(channel)
    except Exception:
        log.exception("call handler failed", extra={"sip_call_id": leg.call_id})
    finally:
        await channel.hangup()
