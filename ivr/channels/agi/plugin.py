"""Builds the FastAGI server: the flow engine runs every call it takes, and named AGI scripts
(``agi://host/callback``) go to the handlers the domains built (the callbacks' script)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from ivr.ami.client import AmiClient
from ivr.channels.agi.metrics import AgiCollector
from ivr.channels.agi.server import AgiServer, ScriptHandler
from ivr.channels.agi.speech import AgiSpeech
from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.events import EventBus
from ivr.ports import FlowRunner
from ivr.settings import Settings
from ivr.speech.plugin import SpeechDomain


@dataclass(frozen=True)
class AgiDomain:
    server: AgiServer
    # Speech on Asterisk: the caller's audio comes back over AudioSocket (None when that is off).
    audiosocket: AudioSocketServer | None

    @property
    def components(self) -> tuple[AgiServer | AudioSocketServer, ...]:
        """The AudioSocket server first: a call's first menu may already listen."""
        return (self.server,) if self.audiosocket is None else (self.audiosocket, self.server)


def build(settings: Settings, bus: EventBus, *, engine: FlowRunner, scripts: Mapping[str, ScriptHandler],
          speech: SpeechDomain, registry: CollectorRegistry, ami: AmiClient | None) -> AgiDomain | None:
    """The server, or None when FastAGI is off (``IVR_AGI__ENABLED=false``)."""
    if not settings.agi.enabled:
        return None
    audiosocket = AudioSocketServer(settings.audiosocket.host, settings.audiosocket.port,
                                    connect_timeout=settings.audiosocket.connect_timeout) \
        if settings.audiosocket.enabled else None
    agi_speech = None if audiosocket is None else AgiSpeech(
        server=audiosocket, engines=speech.engines, advertised=settings.audiosocket.advertised,
        audio_dir=settings.prompts_dir / "audio")
    server = AgiServer(settings.agi, engine=engine, scripts=scripts, bus=bus, speech=agi_speech, ami=ami)
    registry.register(AgiCollector(server.stats))
    return AgiDomain(server=server, audiosocket=audiosocket)
