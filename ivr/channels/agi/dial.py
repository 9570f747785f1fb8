"""Connecting the caller to an agent on Asterisk: ``EXEC Dial <endpoint>,<ring>,gU(<hook>^<token>)``,
then Dial's outcome (``DIALSTATUS``, ``HANGUPCAUSE``, the peer) and the ring and talk times.

``g`` keeps the AGI going when the agent hangs up (without it the EXEC answers ``result=-1``
although the caller is still there); ``U()`` reports the agent's answer on a FastAGI connection of
its own (:mod:`ivr.channels.agi.answer_hook`). With a ``LiveBridge`` the desk may hold and transfer
the caller once the agent answered (:mod:`ivr.channels.agi.bridge`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ivr.channel import ConnectResult, DialStatus
from ivr.channels.agi.answer_hook import AnswerHooks, dial_options
from ivr.channels.agi.bridge import AmiBridgeOps, BridgeChannel, follow_hold
from ivr.channels.agi.commands import set_variable as set_variable_command
from ivr.channels.agi.connection import AgiConnection
from ivr.channels.agi.replies import AgiResponse
from ivr.settings import AgiSettings

if TYPE_CHECKING:
    from ivr.ami.client import AmiClient
    from ivr.callcontrol import LiveBridge

log = logging.getLogger("ivr.agi")

# DIALEDTIME / ANSWEREDTIME are not read: Asterisk counts them from the caller's channel.
_DIAL_VARIABLES = ("DIALSTATUS", "HANGUPCAUSE", "DIALEDPEERNAME")


def dial_status_of(value: str | None) -> DialStatus:
    """DIALSTATUS to our enum; Asterisk's rarer values (DONTCALL, TORTURE, INVALIDARGS, empty)
    all mean "nobody could be reached"."""
    try:
        return DialStatus(value or "")
    except ValueError:
        return DialStatus.CHANUNAVAIL


class DialChannel(BridgeChannel, Protocol):
    """What :func:`dial` needs from the caller's ``AgiChannel`` (beyond what the bridge needs)."""

    @property
    def connection(self) -> AgiConnection: ...

    async def media_command(self, text: str, seconds: float) -> AgiResponse: ...

    async def probe(self) -> None: ...


async def dial(
    channel: DialChannel,
    endpoint: str,
    *,
    timeout: float,
    settings: AgiSettings,
    hooks: AnswerHooks | None,
    ami: AmiClient | None,
    hold_poll_seconds: float,
    caller_id: str | None = None,
    on_answer: Callable[[], None] | None = None,
    bridge: LiveBridge | None = None,
) -> ConnectResult:
    """The caller's AGI blocks in Dial while the agent rings and talks. ``on_answer`` runs when the
    answer hook reports the agent's answer; ring and talk times are measured on the agent leg from
    that moment, not from Asterisk's ``ANSWEREDTIME`` (which counts from the caller's channel, IVR
    included)."""
    if caller_id:
        await channel.command(set_variable_command("CALLERID(num)", caller_id))
    ring = max(1, math.ceil(timeout))
    context = settings.answer_hook_context
    ops: AmiBridgeOps | None = None

    def answered() -> None:
        nonlocal ops
        if bridge is not None:
            ops = AmiBridgeOps(ami, watch.agent_channel if watch else None,
                               settings.agent_hold_context)
            bridge.attach(ops)
        if on_answer is not None:
            on_answer()

    watch = hooks.expect(answered) if hooks is not None and context else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        dial_command = f"EXEC Dial {endpoint},{ring},{dial_options(context, watch)}"
        response = await channel.media_command(dial_command, ring + settings.max_bridge_seconds)
        ended = loop.time()
    finally:
        if watch is not None:
            watch.close()
    values = {name: await channel.get_variable(name) for name in _DIAL_VARIABLES}
    # With "g" a -1 means our caller is gone (or the channel was redirected away).
    if response.result == "-1" and not channel.connection.hung_up and channel.connection.failure is None:
        await channel.probe()
    if ops is not None and bridge is not None:
        try:
            if not channel.connection.hung_up:
                await follow_hold(channel, bridge, ops, settings.moh_class, hold_poll_seconds)
        finally:
            ops.close()
        ended = loop.time()
    status = dial_status_of(values["DIALSTATUS"])
    answered_at = watch.answered_at if watch is not None else None
    if answered_at is not None:
        ring_seconds, talk_seconds = answered_at - started, ended - answered_at
    elif status is DialStatus.ANSWER:
        if watch is not None:
            log.warning("the agent answered but the answer hook did not run: is the %r context in "
                        "extensions.conf?", context)
        ring_seconds, talk_seconds = 0.0, ended - started  # no hook: Dial's whole span
    else:
        ring_seconds, talk_seconds = ended - started, 0.0
    cause = values["HANGUPCAUSE"]
    return ConnectResult(
        status=status,
        ring_seconds=max(0.0, ring_seconds),
        talk_seconds=max(0.0, talk_seconds),
        hangup_cause=int(cause) if cause and cause.isdigit() else None,
        peer=values["DIALEDPEERNAME"] or None,
    )
