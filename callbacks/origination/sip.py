"""The built-in SIP endpoint: an outbound INVITE (``container.sip.endpoint.originate``), answered as a channel
on which the dispatcher runs the call script itself."""

from __future__ import annotations

from typing import Protocol

from callbacks.models import AttemptOutcome
from callbacks.origination.base import Leg, OriginateRequest, OriginateResult
from callbacks.takeover import Probe, ProbeState
from ivr.channel import Channel, ChannelError
from ivr.channels.sip.errors import OriginateFailed


class SipDialer(Protocol):
    async def originate(self, uri: str, *, caller_id: str, timeout: float) -> Channel: ...

    def resolve(self, endpoint: str) -> str: ...


_REASONS = {"busy": AttemptOutcome.BUSY, "no_answer": AttemptOutcome.NO_ANSWER}


class SipOriginator:
    def __init__(self, sip: SipDialer | None, *, customer_uri: str) -> None:
        self._sip = sip
        self.customer_uri = customer_uri  # e.g. sip:{number}@gateway:5060

    def customer_target(self, number: str) -> str:
        return self.customer_uri.format(number=number)

    async def probe(self, callback_id: str, attempt: int) -> Probe:
        # The built-in endpoint's dialogs live in the process that placed them: when it died, so did
        # its side of the dialog, and no other process can ask the far end about it (a new INVITE
        # would be the second call we must not make). Nothing to find out: a person decides.
        return Probe(ProbeState.GONE, detail="the built-in SIP endpoint's dialog ended with its process")

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        sip = self._sip
        if sip is None:  # IVR_SIP__ENABLED=false and no AMI: nothing can place the call
            return OriginateResult(AttemptOutcome.FAILED, detail="the SIP endpoint is not running")
        try:
            uri = sip.resolve(request.target) if request.leg is Leg.AGENT else self.customer_target(request.target)
            channel: Channel = await sip.originate(uri, caller_id=request.caller_id, timeout=request.timeout)
        except ChannelError as exc:  # OriginateFailed carries a reason (busy, no_answer, unavailable...)
            reason = exc.reason.value if isinstance(exc, OriginateFailed) else "failed"
            return OriginateResult(_REASONS.get(reason, AttemptOutcome.FAILED), detail=str(exc))
        except OSError as exc:  # the URI's host does not resolve, no route...
            return OriginateResult(AttemptOutcome.FAILED, detail=f"cannot reach {request.target!r}: {exc}")
        return OriginateResult(AttemptOutcome.ANSWERED, channel=channel, uniqueid=channel.info.call_id)
