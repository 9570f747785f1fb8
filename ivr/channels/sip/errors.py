"""Errors of the built-in SIP endpoint, mapped from what the wire says."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ivr.channel import ChannelError

if TYPE_CHECKING:
    from ivr.channels.sip.message import SipRequest, SipResponse


class SipError(Exception):
    """Base of the SIP endpoint's own errors."""


class SipParseError(SipError):
    """A datagram is not valid SIP; ``partial`` holds what could be read (enough to answer 400?)."""

    def __init__(self, reason: str, *, partial: SipRequest | SipResponse | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


class SdpError(SipError):
    """An SDP body we cannot use (no audio, no common codec)."""


class OriginateReason(enum.StrEnum):
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


class OriginateFailed(ChannelError):
    """An outbound call was not answered; ``reason`` says why, ``status`` is the SIP final status."""

    def __init__(self, reason: OriginateReason, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(f"originate failed: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.status = status
        self.detail = detail


class OriginateCancelled(OriginateFailed):
    """We cancelled the outbound call ourselves (the caller left while it rang)."""

    def __init__(self) -> None:
        super().__init__(OriginateReason.FAILED, detail="cancelled")
