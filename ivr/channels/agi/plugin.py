"""Builds the FastAGI server: the flow engine runs every call it takes, and named AGI scripts
(``agi://host/callback``) go to the handlers the domains built (the callbacks' script)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from ivr.ami.client import AmiClient
from ivr.channels.agi.metrics import AgiCollector
from ivr.channels.agi.server import AgiServer, FlowRunner, ScriptHandler
from ivr.channels.agi.speech import AgiSpeech
from ivr.events import EventBus
from ivr.settings import Settings
from ivr.speech.plugin import SpeechDomain


@dataclass(frozen=True)
class AgiDomain:
    server: AgiServer


def build(settings: Settings, bus: EventBus, *, engine: FlowRunner, scripts: Mapping[str, ScriptHandler],
          speech: SpeechDomain, registry: CollectorRegistry, ami: AmiClient | None) -> AgiDomain | None:
    """The server, or None when FastAGI is off (``IVR_AGI__ENABLED=false``)."""
    if not settings.agi.enabled:
        return None
    server = AgiServer(settings.agi, engine=engine, scripts=scripts, bus=bus,
                       speech=_speech(settings, speech), ami=ami)
    registry.register(AgiCollector(server.stats))
    return AgiDomain(server=server)


def _speech(settings: Settings, speech: SpeechDomain) -> AgiSpeech | None:
    """Speech over AudioSocket, when the AudioSocket server listens."""
    if not settings.audiosocket.enabled:
        return None
    return AgiSpeech(server=speech.audiosocket, engines=speech.engines, advertised=settings.audiosocket.advertised,
                     audio_dir=settings.prompts_dir / "audio")
