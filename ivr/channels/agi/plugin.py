"""Wiring for the FastAGI server.

The flow engine and the AGI scripts are looked up when a call arrives, not now: this keeps wiring
order loose (callbacks registers ``agi_scripts["callback"]``; flows registers ``engine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.ami.wiring import ami_client
from ivr.channels.agi.metrics import AgiCollector
from ivr.channels.agi.server import AgiServer, FlowRunner, ScriptHandler
from ivr.channels.agi.speech import AgiSpeech
from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.composition import Container
from ivr.speech.factory import SpeechEngines


async def wire(container: Container) -> None:
    settings = container.settings.agi
    if not settings.enabled:
        return
    services = container.services
    services.setdefault("agi_scripts", {})

    def engine() -> FlowRunner | None:
        runner: Any = services.get("engine")
        return runner

    def scripts() -> Mapping[str, ScriptHandler]:
        registered: Mapping[str, ScriptHandler] = services.get("agi_scripts", {})
        return registered

    server = AgiServer(settings, engine=engine, scripts=scripts, bus=container.bus, speech=_speech(container),
                       ami=ami_client(container))
    services["agi_server"] = server
    services["agi_stats"] = server.stats
    registry = services.get("metrics_registry")
    if registry is not None:
        registry.register(AgiCollector(server.stats))
    container.components.append(server)


def _speech(container: Container) -> AgiSpeech | None:
    """Speech over AudioSocket when the speech domain built its server and engines."""
    server = container.services.get("audiosocket")
    engines = container.services.get("speech")
    if not container.settings.audiosocket.enabled:
        return None
    if not isinstance(server, AudioSocketServer) or not isinstance(engines, SpeechEngines):
        return None
    return AgiSpeech(
        server=server,
        engines=engines,
        advertised=container.settings.audiosocket.advertised,
        audio_dir=container.settings.prompts_dir / "audio",
    )
