"""Asterisk: AMI ``Originate`` into the callback context, whose dialplan runs Puente's FastAGI
``callback`` script (``AGI(agi://<puente>/callback,${CALLBACK_ID})``).

What the real Asterisk 22 does (round-2 captures): ``Async: true`` gets ``Response: Success /
Originate successfully queued`` at once, then an ``OriginateResponse`` with the same ActionID:
``Reason: 4`` answered, ``3`` no answer (the Timeout ran out), ``0`` busy (486) *or* unavailable (an
endpoint without a contact fails within 1 ms); ``Async: false`` fails with a lone ``Response:
Error / Message: Originate failed``. The Originate variables reach the channel the AGI runs on
(``GET VARIABLE CALLBACK_ID``), also the ``;2`` half of a Local channel.

Taking over from a dead dispatcher (:meth:`AmiOriginator.probe`): the AMI ``Status`` action with
``Variables: CALLBACK_ID,CALLBACK_TRY`` lists every live channel with those variables
(``Variable: NAME=value`` lines), so a channel still carrying the attempt is found. Asterisk keeps no
record of a channel once it has hung up: no such channel means "gone", not "never placed".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from callbacks.models import AttemptOutcome
from callbacks.origination.base import OriginateRequest, OriginateResult
from callbacks.takeover import Probe, ProbeState
from ivr.ami.errors import AmiError
from ivr.ami.events import AmiAction, AmiMessage

log = logging.getLogger(__name__)

REASON_ANSWERED = 4
REASON_NO_ANSWER = 3
REASON_BUSY_OR_UNAVAILABLE = 0
REASON_BUSY = 5  # AST_CONTROL_BUSY: documented, but chan_pjsip reports a 486 as 0
REASON_CONGESTION = 8


class AmiSender(Protocol):
    async def send_action(self, action: AmiAction, *, timeout: float | None = None) -> list[AmiMessage]: ...


def action_id_for(request: OriginateRequest) -> str:
    return f"callback-{request.callback_id}-{request.attempt}"


def originate_action(request: OriginateRequest, *, channel: str, context: str) -> dict[str, str | list[str]]:
    """The ``Originate`` action: the leg's channel, answered into ``context`` (s, 1)."""
    return {
        "Action": "Originate",
        "ActionID": action_id_for(request),
        "Channel": channel,
        "Timeout": str(max(1000, int(request.timeout * 1000))),
        "Context": context,
        "Exten": "s",
        "Priority": "1",
        "CallerID": f'"{request.caller_name}" <{request.caller_id}>',
        "Async": "true",
        "Variable": [f"CALLBACK_ID={request.callback_id}", f"CALLBACK_TRY={request.attempt}"],
    }


def outcome_of_reason(reason: int | None) -> AttemptOutcome:
    return {
        REASON_ANSWERED: AttemptOutcome.ANSWERED,
        REASON_NO_ANSWER: AttemptOutcome.NO_ANSWER,
        REASON_BUSY_OR_UNAVAILABLE: AttemptOutcome.BUSY,
        REASON_BUSY: AttemptOutcome.BUSY,
    }.get(reason if reason is not None else -1, AttemptOutcome.FAILED)


def parse_originate(messages: Sequence[AmiMessage], action_id: str) -> OriginateResult:
    """The action's response (and its ``OriginateResponse``) as an outcome."""
    response = next((m for m in messages if m.response is not None and m.event is None), None)
    if response is not None and response.response.lower() == "error":  # type: ignore[union-attr]
        return OriginateResult(AttemptOutcome.FAILED, detail=f"originate refused: {response.get('Message')}")
    final = next((m for m in messages if (m.event or "").lower() == "originateresponse"
                  and m.action_id in (None, action_id)), None)
    if final is None:
        if response is not None and (response.response or "").lower() == "success":
            return OriginateResult(AttemptOutcome.ANSWERED, detail="originated (synchronous)")
        return OriginateResult(AttemptOutcome.FAILED, detail="no OriginateResponse")
    reason_text = final.get("Reason")
    reason = int(reason_text) if reason_text and reason_text.strip().lstrip("-").isdigit() else None
    success = (final.response or "").lower() == "success"
    outcome = AttemptOutcome.ANSWERED if success else outcome_of_reason(reason)
    if not success and outcome is AttemptOutcome.ANSWERED:
        outcome = AttemptOutcome.FAILED  # "Failure" with Reason 4 is not an answer
    uniqueid = final.get("Uniqueid")
    return OriginateResult(outcome, detail=f"reason {reason_text}" + ("" if success else " (failure)"),
                           uniqueid=None if uniqueid in (None, "", "<unknown>") else uniqueid)


def status_action() -> dict[str, str | list[str]]:
    return {"Action": "Status", "Variables": "CALLBACK_ID,CALLBACK_TRY"}


def channel_variables(message: AmiMessage) -> dict[str, str]:
    """``Variable: NAME=value`` (Status) and ``ChanVariable: NAME=value`` / ``ChanVariable(NAME): value``
    (``channelvars`` in manager.conf) as one mapping."""
    out: dict[str, str] = {}
    for key, value in message.headers:
        lowered = key.lower()
        if lowered in ("variable", "chanvariable") and "=" in value:
            name, _, val = value.partition("=")
            out[name.strip().upper()] = val.strip()
        elif lowered.startswith("chanvariable(") and lowered.endswith(")"):
            out[key[len("chanvariable("):-1].strip().upper()] = value.strip()
    return out


def probe_of_status(messages: Sequence[AmiMessage], callback_id: str, attempt: int) -> Probe:
    """The ``Status`` answer as a probe: LIVE when a channel carries this callback's attempt."""
    response = next((m for m in messages if m.response is not None and m.event is None), None)
    if response is not None and (response.response or "").lower() == "error":
        return Probe(ProbeState.UNREACHABLE, detail=f"status refused: {response.get('Message')}")
    for message in messages:
        if (message.event or "").lower() != "status":
            continue
        found = channel_variables(message)
        if found.get("CALLBACK_ID") == callback_id and found.get("CALLBACK_TRY") == str(attempt):
            return Probe(ProbeState.LIVE, detail=f"{message.get('Channel')} "
                                                 f"{message.get('ChannelStateDesc') or message.get('State') or ''}"
                                                 .strip())
    return Probe(ProbeState.GONE, detail="no live channel carries it")


class AmiOriginator:
    """Originate through the AMI client (the server's one client, shared with the ACD)."""

    def __init__(self, ami: AmiSender | None, *, context: str, customer_channel: str,
                 customer_dial: str, margin: float = 10.0) -> None:
        self._ami = ami
        self.context = context
        self.customer_channel = customer_channel  # e.g. Local/{number}@callback-out
        self.customer_dial = customer_dial  # e.g. PJSIP/{number}@trunk
        self.margin = margin

    def customer_target(self, number: str) -> str:
        return self.customer_dial.format(number=number)

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        ami = self._ami
        if ami is None:
            return OriginateResult(AttemptOutcome.FAILED, detail="no AMI client")
        from callbacks.origination.base import Leg

        channel = request.target if request.leg is Leg.AGENT else self.customer_channel.format(number=request.target)
        action = originate_action(request, channel=channel, context=self.context)
        try:
            # Async: the Originate's answer comes when the leg is answered or failed (<= Timeout).
            messages = await ami.send_action(action, timeout=request.timeout + self.margin)
        except AmiError as exc:
            log.warning("originate not sent", extra={"callback_id": request.callback_id, "error": repr(exc)})
            return OriginateResult(AttemptOutcome.FAILED, detail=f"ami: {exc}")
        return parse_originate(messages, action_id_for(request))

    async def probe(self, callback_id: str, attempt: int) -> Probe:
        ami = self._ami
        if ami is None:
            return Probe(ProbeState.UNREACHABLE, detail="no AMI client")
        try:
            messages = await ami.send_action(status_action(), timeout=self.margin)
        except AmiError as exc:
            return Probe(ProbeState.UNREACHABLE, detail=f"ami: {exc}")
        return probe_of_status(messages, callback_id, attempt)
