"""Hold, resume and transfer of an Asterisk bridge (see :mod:`ivr.callcontrol`), through AMI.

The caller's AGI is blocked in ``EXEC Dial`` while the bridge lasts, so the desk acts on the
*agent's* channel (its name comes from Dial's answer hook, which runs on it):

- hold: AMI ``Redirect`` of the agent's channel to ``[puente-agent-hold]`` (shipped in
  ``dialplan/asterisk/extensions.conf``). A redirected Dial peer leaves the bridge, the basic
  bridge dissolves, and the caller's ``Dial`` returns as when the agent hangs up (``g``: the AGI
  goes on; Asterisk's ``main/bridge_after.c`` starts the agent's channel at the new place). The
  caller's AGI then plays music (``SET MUSIC on``) until the desk resumes;
- resume: the caller's AGI runs ``EXEC Bridge <agent channel>,x`` (core ``Bridge()``; ``x`` hangs
  the agent up when the caller leaves, instead of sending them back into the hold context);
- transfer: AMI ``Hangup`` of the agent's channel; Dial (or Bridge) returns and the hold loop
  queues the caller again.

The agent hanging up while the caller is on hold is seen in AMI's ``Hangup`` event for their
channel: the caller's hold ends and the contact with it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Protocol

from ivr.ami.client import AmiClient, AmiSubscription
from ivr.ami.errors import AmiNotConnected, AmiTimeout
from ivr.ami.events import Hangup
from ivr.callcontrol import ControlAction, ControlFailed, LiveBridge
from ivr.channels.agi.replies import AgiResponse

log = logging.getLogger("ivr.agi")

AGENT_HOLD_CONTEXT = "puente-agent-hold"


class AmiBridgeOps:
    backend = "asterisk"

    def __init__(self, ami: AmiClient | None, agent_channel: str | None, hold_context: str) -> None:
        self._ami = ami
        self.agent_channel = agent_channel
        self._hold_context = hold_context
        self._hangups: AmiSubscription | None = None

    def unavailable(self, action: ControlAction) -> str | None:
        if self._ami is None:
            return "on Asterisk hold and transfer need AMI (set IVR_AMI__ENABLED=true)"
        if not self.agent_channel:
            return "Asterisk did not report the agent's channel (is the answer hook context in extensions.conf?)"
        if action is ControlAction.HOLD and not self._hold_context:
            return "hold needs IVR_AGI__AGENT_HOLD_CONTEXT (shipped as [puente-agent-hold])"
        if action is ControlAction.RESUME:
            return None  # the caller's own AGI bridges back: no AMI needed, so a caller is never stranded
        if not self._ami.connected:
            return "the AMI connection to Asterisk is down"
        return None

    async def _send(self, action: dict[str, str]) -> None:
        assert self._ami is not None
        try:
            replies = await self._ami.send_action(action)
        except (AmiNotConnected, AmiTimeout) as exc:
            raise ControlFailed(f"Asterisk did not take the {action['Action']}: {exc}") from None
        reply = replies[0] if replies else None
        if reply is None or (reply.get("Response") or "").lower() != "success":
            message = reply.get("Message") if reply is not None else None
            raise ControlFailed(f"Asterisk refused the {action['Action']}: {message or 'no reason given'}")

    async def hold(self) -> None:
        assert self._ami is not None and self.agent_channel
        # Watch the agent's channel before moving it: a hangup while on hold must end the hold.
        self._hangups = self._hangups or self._ami.subscribe("Hangup", maxsize=200)
        try:
            await self._send({"Action": "Redirect", "Channel": self.agent_channel, "Context": self._hold_context,
                              "Exten": "s", "Priority": "1"})
        except ControlFailed:
            self.close()
            raise

    async def resume(self) -> None:
        return None  # the caller's AGI bridges again (EXEC Bridge) when it sees the hold end

    async def release(self) -> None:
        assert self._ami is not None and self.agent_channel
        await self._send({"Action": "Hangup", "Channel": self.agent_channel, "Cause": "16"})

    def agent_gone(self) -> bool:
        """Whether AMI reported the agent's channel hung up (reads what arrived, never waits)."""
        if self._hangups is None:
            return False
        while (event := self._hangups.get_nowait()) is not None:
            if isinstance(event, Hangup) and event.channel == self.agent_channel:
                return True
        return False

    def close(self) -> None:
        if self._hangups is not None:
            self._hangups.close()
            self._hangups = None


class BridgeChannel(Protocol):
    """What :func:`follow_hold` needs from the caller's ``AgiChannel``."""

    @property
    def hung_up(self) -> bool: ...

    async def command(self, text: str, *, timeout: float | None = None) -> AgiResponse: ...

    async def wait_for_digit(self, seconds: float) -> str | None: ...

    async def get_variable(self, name: str) -> str | None: ...

    async def bridge_to(self, channel: str) -> None: ...


async def follow_hold(channel: BridgeChannel, bridge: LiveBridge, ops: AmiBridgeOps, moh_class: str,
                      poll_seconds: float) -> None:
    """After ``Dial`` (or ``Bridge``) returned: while the desk holds the caller, music; on resume,
    bridge to the agent again. Returns when the contact is over (the agent hung up or was released
    for a transfer); raises ``CallerHungUp`` when the caller leaves (the parked agent is released)."""
    try:
        while bridge.held and bridge.transfer is None and ops.agent_channel:
            await channel.command(f"SET MUSIC on {moh_class}")
            while bridge.held and bridge.transfer is None:
                if ops.agent_gone():
                    log.info("the agent hung up while the caller was on hold", extra={"call_id": bridge.call_id})
                    bridge.held = False
                    await channel.command("SET MUSIC off")
                    return
                await channel.wait_for_digit(poll_seconds)  # keys on hold are ignored
            await channel.command("SET MUSIC off")
            if bridge.transfer is not None:
                return
            await channel.bridge_to(ops.agent_channel)
            if await channel.get_variable("BRIDGERESULT") != "SUCCESS":
                log.info("the agent's channel was gone at resume", extra={"call_id": bridge.call_id})
                return
    finally:
        if channel.hung_up and bridge.held and not ops.agent_gone():
            with contextlib.suppress(ControlFailed):  # the caller left on hold: free the agent's phone
                await ops.release()
