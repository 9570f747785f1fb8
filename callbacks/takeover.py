"""Taking over an attempt from a dispatcher that died mid-dial: find out, never guess.

The attempt row (state ``dialing``, the attempt's sequence number) is committed before the
Originate/INVITE leaves, and the first leg's answer is written as soon as it comes back. A
dispatcher that finds such an attempt with its lease run out decides here, from what was recorded
and, when that is not enough, from what the origination side says about the attempt now
(:class:`Probe`). Redialling is allowed only when the first call provably never left; a call still
up is waited for; whatever cannot be found out is held for a person (``needs_review``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from callbacks.models import AttemptOutcome
from callbacks.policy import CallbackMode


class ProbeState(enum.StrEnum):
    LIVE = "live"  # a channel/dialog carrying the attempt exists now (ringing or up)
    ENDED = "ended"  # the origination side knows how the first leg ended (``outcome``)
    NEVER = "never"  # the origination side never received the attempt
    GONE = "gone"  # no trace now: it may have been placed and ended, or never placed
    UNREACHABLE = "unreachable"  # the origination side could not be asked (AMI down...)


@dataclass(frozen=True, slots=True)
class Probe:
    state: ProbeState
    outcome: AttemptOutcome | None = None  # for ENDED
    detail: str = ""


class Action(enum.StrEnum):
    RECORD = "record"  # the outcome is known: record it and go on by the policy (done, retry, failed)
    REDIAL = "redial"  # the first call never left: close the attempt (not counted), due again now
    WAIT = "wait"  # the call is still up (or the originator unreachable): ask again later
    REVIEW = "review"  # cannot be found out: hold for a person


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    outcome: AttemptOutcome | None = None
    counted: bool = True
    detail: str = ""


def from_closed(outcome: AttemptOutcome | None, counted: bool) -> Decision | None:
    """An attempt already closed by a dispatcher that had lost its lease (it was alive but slow):
    its outcome is what happened."""
    if outcome is None:
        return None
    return Decision(Action.RECORD, outcome, counted=counted,
                    detail=f"taken over: {outcome.value}, recorded by a dispatcher that had lost its lease")


def from_record(leg_outcome: AttemptOutcome | None, mode: CallbackMode) -> Decision | None:
    """What the recorded first-leg answer settles; None when the origination side must be asked."""
    if leg_outcome is None:
        return None
    if mode is CallbackMode.AGENT_FIRST:
        if leg_outcome is AttemptOutcome.ANSWERED:
            return None  # the agent answered; whether the customer was dialled from there is unknown
        return Decision(Action.RECORD, AttemptOutcome.FAILED, counted=False,
                        detail=f"taken over: agent leg {leg_outcome.value}, the customer was not dialled")
    return Decision(Action.RECORD, leg_outcome, detail=f"taken over: customer leg {leg_outcome.value} (recorded)")


def from_probe(probe: Probe, mode: CallbackMode, *, started_at: datetime, now: datetime,
               give_up_after: timedelta, never_after: timedelta) -> Decision:
    """What the origination side's answer settles. "Never received" is trusted only for an attempt
    older than ``never_after``: a dispatcher whose lease ran out while it was alive but slow may
    have its Originate still on the way."""
    if probe.state is ProbeState.NEVER and now - started_at < never_after:
        return Decision(Action.WAIT, detail="taken over: not received yet, too recent to be sure")
    if probe.state in (ProbeState.LIVE, ProbeState.UNREACHABLE):
        if now - started_at > give_up_after:
            return Decision(Action.REVIEW, detail=f"taken over: still {probe.state.value} after "
                                                  f"{give_up_after.total_seconds():g}s {probe.detail}".strip())
        return Decision(Action.WAIT, detail=f"taken over: {probe.state.value} {probe.detail}".strip())
    if probe.state is ProbeState.NEVER:
        return Decision(Action.REDIAL, AttemptOutcome.FAILED, counted=False,
                        detail="taken over: the first call never left")
    if probe.state is ProbeState.ENDED and probe.outcome is not None:
        if mode is CallbackMode.CUSTOMER_FIRST:
            return Decision(Action.RECORD, probe.outcome, detail=f"taken over: customer leg {probe.outcome.value}")
        if probe.outcome is not AttemptOutcome.ANSWERED:
            return Decision(Action.RECORD, AttemptOutcome.FAILED, counted=False,
                            detail=f"taken over: agent leg {probe.outcome.value}, the customer was not dialled")
    return Decision(Action.REVIEW, detail=f"taken over: cannot tell whether the customer was called "
                                          f"({probe.state.value}{': ' + probe.detail if probe.detail else ''})")
