"""Inbound requests, pure parts: the leg of an accepted INVITE, 400 for bad requests, SIP INFO keys."""

from __future__ import annotations

from ivr.channels.sip.leg import Direction, Leg
from ivr.channels.sip.media import Pacer, open_session
from ivr.channels.sip.message import SipParseError, SipRequest, SipResponse, address_uri, new_tag, response_to
from ivr.channels.sip.sdp import Negotiated, build_sdp
from ivr.channels.sip.transactions import Address
from ivr.settings import SipSettings


async def open_inbound_leg(
    settings: SipSettings, pacer: Pacer, request: SipRequest, addr: Address, negotiated: Negotiated
) -> Leg:
    """The leg of an INVITE we accept: its RTP socket opened, our SDP answer ready."""
    rtp = await open_session(settings.rtp_host, settings.rtp_port_min, settings.rtp_port_max, pacer)
    rtp.remote = (negotiated.host, negotiated.port)
    rtp.codec = negotiated.codec
    rtp.dtmf_pt = negotiated.dtmf_pt
    local_tag = new_tag()
    remote_from = request.headers.get("From") or ""
    contact = request.headers.get("Contact")
    leg = Leg(
        call_id=request.call_id,
        direction=Direction.INBOUND,
        local_tag=local_tag,
        local_header=f"{request.headers.get('To')};tag={local_tag}",
        remote_header=remote_from,
        remote_target=address_uri(contact) if contact else address_uri(remote_from),
        remote_addr=addr,
        rtp=rtp,
        local_sdp=build_sdp(settings.rtp_host, rtp.local_port, (negotiated.codec,), negotiated.dtmf_pt),
        cseq=100,
        invite=request,
        invite_addr=addr,
    )
    rtp.on_digit = leg.digit
    return leg


def dtmf_relay_digit(body: bytes) -> str | None:
    """``Signal=5\\r\\nDuration=160`` (application/dtmf-relay) -> ``5``."""
    for line in body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal":
            value = value.strip()
            if len(value) == 1 and value.upper() in "0123456789*#ABCD":
                return value.upper()
    return None


def bad_request_for(exc: SipParseError) -> SipResponse | None:
    """A 400 for a malformed request that still names its transaction; None: drop it silently."""
    partial = exc.partial
    if not isinstance(partial, SipRequest) or partial.method == "ACK":
        return None  # a response or an ACK is never answered
    if not all(partial.headers.get(h) for h in ("Via", "From", "To", "Call-ID", "CSeq")):
        return None  # not enough to build a response
    return response_to(partial, 400, f"Bad Request ({exc.reason[:60]})")
