from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from ivr.serve import _run_components
from ivr.settings import Settings
from ivr.supervision import SupervisionHooks


@dataclass
class Recording:
    name: str
    log: list[str]
    fail_on_start: bool = False
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, started: asyncio.Event) -> None:
        if self.fail_on_start:
            raise OSError(f"{self.name}: address already in use")
        self.log.append(f"start {self.name}")
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"stop {self.name}")


def container_with(*components: Recording) -> tuple[Recording, ...]:
    return components


async def test_components_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    stop = asyncio.Event()
    container = container_with(Recording("recorder", log), Recording("acd", log), Recording("agi", log))
    runner = asyncio.create_task(_run_components(container, stop, hooks=SupervisionHooks(), settings=Settings()))
    async with asyncio.timeout(10):
        while len(log) < 3:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, 10)
    assert log == ["start recorder", "start acd", "start agi", "stop agi", "stop acd", "stop recorder"]


async def test_a_component_that_cannot_start_stops_the_server_with_its_error() -> None:
    log: list[str] = []
    container = container_with(Recording("recorder", log), Recording("sip", log, fail_on_start=True))
    with pytest.raises(ExceptionGroup) as info:
        await asyncio.wait_for(_run_components(container, asyncio.Event(), hooks=SupervisionHooks(),
                                               settings=Settings()), 10)
    assert "address already in use" in str(info.value.exceptions[0])
    assert log == ["start recorder", "stop recorder"]
