"""Wiring for speech: the engines (one model per engine and language) and their warm-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from ivr.settings import Settings
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


@dataclass(frozen=True)
class SpeechDomain:
    engines: SpeechEngines
    components: tuple[SpeechWarmUp, ...]


def build(settings: Settings, registry: CollectorRegistry) -> SpeechDomain:
    engines = SpeechEngines(settings)
    registry.register(SpeechCollector(engines.runner))
    components = (SpeechWarmUp(engines),) if settings.speech.enabled else ()
    return SpeechDomain(engines=engines, components=components)
