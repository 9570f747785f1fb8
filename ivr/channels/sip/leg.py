"""One call leg: a SIP dialog (RFC 3261 §12) plus its RTP session."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.channels.sip.media import RtpSession
from ivr.channels.sip.message import Headers, SipRequest, address_uri, new_branch, parse_uri
from ivr.channels.sip.transactions import Address


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class LegState(enum.StrEnum):
    PROCEEDING = "proceeding"  # INVITE received or sent, not answered
    CONFIRMED = "confirmed"  # answered
    ENDED = "ended"


class EndedBy(enum.StrEnum):
    REMOTE = "remote"  # BYE or CANCEL from the peer, or ACK never came
    LOCAL = "local"


@dataclass(eq=False)
class Leg:
    call_id: str
    direction: Direction
    local_tag: str
    # Header values as this side sends them in requests: From is ours, To is the peer's.
    local_header: str
    remote_header: str
    remote_target: str  # the peer's Contact URI
    remote_addr: Address
    rtp: RtpSession
    local_sdp: bytes
    cseq: int = 1
    state: LegState = LegState.PROCEEDING
    ended_by: EndedBy | None = None
    invite: SipRequest | None = None  # the INVITE that created an inbound leg
    invite_addr: Address | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    on_digit: Callable[[str], None] | None = None
    end_listeners: list[Callable[[], None]] = field(default_factory=list)

    def end(self, by: EndedBy) -> bool:
        """Mark the leg ended; False if it already was."""
        if self.state is LegState.ENDED:
            return False
        self.state = LegState.ENDED
        self.ended_by = by
        self.rtp.close()
        self.ended.set()
        for listener in list(self.end_listeners):
            listener()
        return True

    def digit(self, digit: str) -> None:
        if self.on_digit is not None and self.state is not LegState.ENDED:
            self.on_digit(digit)

    def in_dialog_request(self, method: str, local_contact: str, *, user_agent: str) -> SipRequest:
        self.cseq += 1
        headers = Headers()
        host, port = local_contact_hostport(local_contact)
        headers.add("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_header)
        headers.add("To", self.remote_header)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self.cseq} {method}")
        headers.add("Contact", f"<{local_contact}>")
        headers.add("User-Agent", user_agent)
        return SipRequest(method, self.remote_target, headers)


def local_contact_hostport(contact: str) -> tuple[str, int]:
    uri = parse_uri(address_uri(contact))
    return uri.host, uri.port or 5060


def target_address(uri: str) -> Address:
    parsed = parse_uri(uri)
    return parsed.host, parsed.port or 5060
