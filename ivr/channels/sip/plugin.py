"""Wiring for the built-in SIP endpoint (``container.services["sip"]``, with ``originate``).

The flow engine is looked up when a call arrives, not now, so wiring order stays loose.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.endpoint import SipEndpoint
from ivr.channels.sip.metrics import SipCollector
from ivr.composition import Container
from ivr.logs import current_call_id

log = logging.getLogger("ivr.sip")


async def wire(container: Container) -> None:
    settings = container.settings
    if not settings.sip.enabled:
        return
    services = container.services
    prompts: Any = services.get("prompts")

    def resolve(key: str) -> Path:
        if prompts is not None:
            path: Path = prompts.path(key)
            return path
        return settings.prompts_dir / "audio" / f"{key}.wav"

    async def handle(channel: SipChannel) -> None:
        token = current_call_id.set(channel.info.call_id)
        try:
            engine: Any = services.get("engine")
            if engine is None:
                log.error("no flow engine wired: the call is ended")
                return
            await engine.run(channel)
        finally:
            current_call_id.reset(token)

    endpoint = SipEndpoint(settings.sip, handler=handle, audio=AudioLibrary(resolve), speech=services.get("speech"))
    services["sip"] = endpoint
    registry = services.get("metrics_registry")
    if registry is not None:
        registry.register(SipCollector(endpoint.stats, endpoint.pacing, endpoint.flood))
    container.components.append(endpoint)
