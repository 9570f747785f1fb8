"""Wiring for speech and the AudioSocket server."""

from __future__ import annotations

from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.composition import Container
from ivr.speech.factory import SpeechEngines


async def wire(container: Container) -> None:
    settings = container.settings
    engines = SpeechEngines(settings)
    container.services["speech"] = engines
    container.closers.append(engines.aclose)
    server = AudioSocketServer(settings.audiosocket.host, settings.audiosocket.port,
                               connect_timeout=settings.audiosocket.connect_timeout)
    container.services["audiosocket"] = server
    if settings.audiosocket.enabled:
        container.components.append(server)
