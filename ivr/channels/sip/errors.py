"""Errors of the built-in SIP endpoint, mapped from what the wire says (a datagram that is not SIP:
:class:`ivr.channels.sip.message.SipParseError`, beside the parser)."""

from __future__ import annotations

import enum

from ivr.channel import ChannelError


class SipError(Exception):
    """Base of the SIP endpoint's own errors."""


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
