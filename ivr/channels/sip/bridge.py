"""Hold, resume and transfer of a built-in SIP bridge (see :mod:`ivr.callcontrol`).

The bridge is Puente's own RTP relay between the caller's leg and the agent's, so the desk acts
on the relay: hold stops it both ways and streams music to the caller through the shared pacer
(the agent hears silence; their leg stays up, no re-INVITE is needed because nothing reaches
them), resume relays again, and a transfer sends the agent's leg a ``BYE`` while the caller's
leg stays with the hold loop, which queues them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ivr.callcontrol import ControlAction, LiveBridge
from ivr.channels.sip.leg import Leg, LegState
from ivr.channels.sip.transport import SipTransport


class SipBridgeOps:
    backend = "sip"

    def __init__(self, endpoint: SipTransport, caller: Leg, agent: Leg) -> None:
        self._endpoint = endpoint
        self._caller = caller
        self._agent = agent

    def unavailable(self, action: ControlAction) -> str | None:
        return "the agent has hung up" if self._agent.state is LegState.ENDED else None

    async def hold(self) -> None:
        # At once, not at the relay loop's next turn: not one more packet crosses. The loop
        # (run_bridge) then sees ``held`` and plays the music.
        self._caller.rtp.relay_to = self._agent.rtp.relay_to = None

    async def resume(self) -> None:
        self._caller.rtp.relay_to, self._agent.rtp.relay_to = self._agent.rtp, self._caller.rtp

    async def release(self) -> None:
        self._endpoint.hangup_leg(self._agent)


async def run_bridge(endpoint: SipTransport, caller: Leg, agent: Leg, bridge: LiveBridge | None,
                     hung_up: Callable[[], bool]) -> None:
    """Relay until either leg ends; while the desk holds the call, music to the caller instead."""
    signal = bridge.changed if bridge is not None else None
    wake = signal.set if signal is not None else None
    over_listeners: list[Callable[[], None]] = []
    over = asyncio.Event()
    for listener in (over.set, *([wake] if wake else [])):
        caller.end_listeners.append(listener)
        agent.end_listeners.append(listener)
        over_listeners.append(listener)

    def ended() -> bool:
        return hung_up() or agent.state is LegState.ENDED or over.is_set()

    try:
        while not ended():
            if bridge is not None and bridge.held:
                caller.rtp.relay_to = agent.rtp.relay_to = None
                music = endpoint.audio.music(caller.rtp.codec)
                await caller.rtp.stream(music, lambda: ended() or not bridge.held)
                continue
            caller.rtp.relay_to, agent.rtp.relay_to = agent.rtp, caller.rtp
            if signal is None:
                await over.wait()
            else:
                signal.clear()
                if ended() or (bridge is not None and bridge.held):
                    continue
                await signal.wait()
    finally:
        caller.rtp.relay_to = None
        agent.rtp.relay_to = None
        for listener in over_listeners:
            for leg in (caller, agent):
                if listener in leg.end_listeners:
                    leg.end_listeners.remove(listener)
