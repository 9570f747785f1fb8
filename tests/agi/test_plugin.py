"""wire(container): the FastAGI component, with the engine looked up when a call arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ivr.channel import Channel
from ivr.channels.agi.plugin import wire
from ivr.channels.agi.server import AgiServer
from ivr.composition import Container
from ivr.db import Database
from ivr.events import EventBus
from ivr.settings import Settings
from tests.agi.helpers import drive
from tests.support.agi_driver import CallerModel, env_block


class LateEngine:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self, channel: Channel) -> None:
        self.calls.append(channel.info.call_id)
        await channel.answer()


async def test_wire_adds_a_component_that_finds_the_engine_at_call_time(tmp_path: Path) -> None:
    settings = Settings(agi={"port": 0}, var_dir=tmp_path)
    container = Container(settings=settings, db=Database(f"sqlite:///{tmp_path / 'x.db'}"), bus=EventBus())
    try:
        await wire(container)
        [server] = [c for c in container.components if c.name == "agi"]
        assert isinstance(server, AgiServer)
        assert container.services["agi_server"] is server
        engine = LateEngine()
        container.services["engine"] = engine  # registered after wiring
        started = asyncio.Event()
        task = asyncio.create_task(server.run(started))
        await asyncio.wait_for(started.wait(), 5)
        model = CallerModel()
        result = await drive(server, model, env=env_block(script="support"))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert engine.calls == ["1795424844.1"]
        assert result.commands == ["ANSWER", 'SET VARIABLE PUENTE_RESULT "done"']
    finally:
        await container.db.dispose()


async def test_disabled_agi_wires_nothing(tmp_path: Path) -> None:
    settings = Settings(agi={"enabled": False}, var_dir=tmp_path)
    container = Container(settings=settings, db=Database(f"sqlite:///{tmp_path / 'x.db'}"), bus=EventBus())
    try:
        await wire(container)
        assert container.components == []
    finally:
        await container.db.dispose()


def test_agi_stats_are_exported_to_prometheus() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

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
