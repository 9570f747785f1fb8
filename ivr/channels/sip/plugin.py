"""Builds the built-in SIP endpoint: each call it answers is run by the flow engine; callbacks
originate through it when AMI is not used."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.endpoint import SipEndpoint
from ivr.channels.sip.metrics import SipCollector
from ivr.logs import current_call_id
from ivr.ports import FlowRunner
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import Settings
from ivr.speech.factory import SpeechEngines

log = logging.getLogger("ivr.sip")


@dataclass(frozen=True)
class SipDomain:
    endpoint: SipEndpoint


class SipCalls:
    """The endpoint's call handler: the flow engine, under the call's id for logging."""

    def __init__(self, engine: FlowRunner) -> None:
        self._engine = engine

    async def __call__(self, channel: SipChannel) -> None:
        token = current_call_id.set(channel.info.call_id)
        try:
            await self._engine.run(channel)
        finally:
            current_call_id.reset(token)


def build(settings: Settings, *, engine: FlowRunner, prompts: PromptCatalogue, speech: SpeechEngines,
          registry: CollectorRegistry) -> SipDomain | None:
    """The endpoint, or None when the built-in SIP endpoint is off (``IVR_SIP__ENABLED=false``)."""
    if not settings.sip.enabled:
        return None
    endpoint = SipEndpoint(settings.sip, handler=SipCalls(engine), audio=AudioLibrary(prompts.path), speech=speech)
    registry.register(SipCollector(endpoint.stats, endpoint.pacing, endpoint.flood))
    return SipDomain(endpoint=endpoint)
