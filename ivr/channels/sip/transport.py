"""The port a call's channel and the dialer use to reach the wire: implemented by
:class:`ivr.channels.sip.endpoint.SipEndpoint`, which builds the channels and dials for them.

Declared here, below them, so the endpoint depends on the channel and the dialer and not the other
way round: a reader sees every dependency at the top of each module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.leg import Leg
from ivr.channels.sip.media import Pacer
from ivr.channels.sip.message import SipMessage, SipResponse
from ivr.channels.sip.transactions import Address, Retransmitter, Timers
from ivr.settings import SipSettings
from ivr.speech.factory import SpeechEngines


class SipTransport(Protocol):
    settings: SipSettings
    timers: Timers
    audio: AudioLibrary
    speech: SpeechEngines | None
    retransmitter: Retransmitter
    address: Address
    media_ip_version: int

    @property
    def pacer(self) -> Pacer:
        """The media thread or the media process, whichever sends this endpoint's RTP."""
        ...

    @property
    def contact(self) -> str: ...

    def send_message(self, message: SipMessage, addr: Address) -> None: ...

    def register_client_tx(self, branch: str, callback: Callable[[SipResponse], None]) -> None: ...

    def unregister_client_tx(self, branch: str) -> None: ...

    def add_leg(self, leg: Leg) -> None: ...

    def answer(self, leg: Leg) -> None: ...

    def hangup_leg(self, leg: Leg) -> None: ...

    def resolve(self, endpoint: str) -> str: ...
