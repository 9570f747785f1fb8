"""build(): the FastAGI server runs each call on the engine it was given."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from ivr.channel import Channel
from ivr.channels.agi.plugin import build
from ivr.events import EventBus
from ivr.ports import Disposition
from ivr.settings import Settings
from ivr.speech import plugin as speech_plugin
from tests.agi.helpers import drive
from tests.support.agi_driver import CallerModel, env_block


class Engine:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self, channel: Channel) -> Disposition:
        self.calls.append(channel.info.call_id)
        await channel.answer()
        return Disposition.COMPLETED


async def test_the_server_runs_each_call_on_the_engine(tmp_path: Path) -> None:
    settings = Settings(agi={"port": 0}, audiosocket={"enabled": False}, var_dir=tmp_path)
    registry = CollectorRegistry()
    engine = Engine()
    agi = build(settings, EventBus(), engine=engine, scripts={}, speech=speech_plugin.build(settings, registry),
                registry=registry, ami=None)
    assert agi is not None
    server = agi.server
    started = asyncio.Event()
    task = asyncio.create_task(server.run(started))
    await asyncio.wait_for(started.wait(), 5)
    result = await drive(server, CallerModel(), env=env_block(script="support"))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert engine.calls == ["1795424844.1"]
    assert result.commands == ["ANSWER", 'SET VARIABLE PUENTE_RESULT "done"']


def test_disabled_agi_builds_nothing(tmp_path: Path) -> None:
    settings = Settings(agi={"enabled": False}, var_dir=tmp_path)
    registry = CollectorRegistry()
    assert build(settings, EventBus(), engine=Engine(), scripts={}, speech=speech_plugin.build(settings, registry),
                 registry=registry, ami=None) is None


def test_agi_stats_are_exported_to_prometheus() -> None:
    from prometheus_client import generate_latest

    from ivr.channels.agi.metrics import AgiCollector
    from ivr.channels.agi.stats import AgiErrorKind, AgiStats

    stats = AgiStats()
    registry = CollectorRegistry()
    registry.register(AgiCollector(stats))
    stats.connections_total = 3
    stats.observe_command(0.002)
    stats.observe_command(0.2)
    stats.error(AgiErrorKind.TIMEOUT)
    text = generate_latest(registry).decode()
    assert "puente_agi_connections_total 3.0" in text
    assert 'puente_agi_errors_total{kind="timeout"} 1.0' in text
    assert 'puente_agi_command_seconds_bucket{le="0.005"} 1.0' in text
    assert 'puente_agi_command_seconds_bucket{le="+Inf"} 2.0' in text
    assert "puente_agi_command_seconds_count 2.0" in text
