"""Wiring for speech and the AudioSocket server."""

from __future__ import annotations

import asyncio

from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.composition import Container
from ivr.speech.factory import SpeechEngines
from ivr.speech.metrics import SpeechCollector


class SpeechWarmUp:
    """Loads the configured engines and starts the decoding workers as the server starts, so the
    first callers do not wait for a model; then idles until the server stops."""

    name = "speech-warm-up"

    def __init__(self, engines: SpeechEngines) -> None:
        self._engines = engines

    async def run(self, started: asyncio.Event) -> None:
        started.set()  # calls are taken meanwhile: a turn before the load ends opens in the pool
        await self._engines.warm()
        await asyncio.Event().wait()


async def wire(container: Container) -> None:
    settings = container.settings
    engines = SpeechEngines(settings)
    container.services["speech"] = engines
    container.closers.append(engines.aclose)
    registry = container.services.get("metrics_registry")
    if registry is not None:
        registry.register(SpeechCollector(engines.runner))
    if settings.speech.enabled:
        container.components.append(SpeechWarmUp(engines))
    server = AudioSocketServer(settings.audiosocket.host, settings.audiosocket.port,
                               connect_timeout=settings.audiosocket.connect_timeout)
    container.services["audiosocket"] = server
    if settings.audiosocket.enabled:
        container.components.append(server)
