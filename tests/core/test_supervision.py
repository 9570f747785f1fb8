"""``ivr serve`` supervises its components: one that fails after it started is logged, counted and
restarted with a capped, jittered, growing backoff while the others go on serving; a stop during
the backoff ends cleanly. Each scenario runs on the standard loop and on uvloop."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.plugin import HttpServer
from ivr import loops
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.server import AgiServer
from ivr.composition import Container, build_container
from ivr.db import Database
from ivr.loops import EventLoopChoice
from ivr.serve import _hooks, _run_components
from ivr.settings import Settings
from ivr.supervision import Backoff, ComponentStates, SupervisionHooks
from tests.agi.helpers import drive
from tests.support.agi_driver import CallerModel, env_block

LOOPS = [EventLoopChoice.ASYNCIO, pytest.param(EventLoopChoice.UVLOOP, id="uvloop")]
DEADLINE = 10.0


def on_loop(choice: EventLoopChoice, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if choice is EventLoopChoice.UVLOOP:
        pytest.importorskip("uvloop", reason="uvloop is not installed (it is a dependency on Linux)")
    loops.run(main(), choice)


@dataclass
class Flaky:
    """Starts, then fails each time ``fail`` is set, up to ``failures`` times; after that it stays up."""

    name: str = "flaky"
    failures: int = 1
    runs: int = 0
    fail: asyncio.Event = field(default_factory=asyncio.Event)
    up: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def run(self, started: asyncio.Event) -> None:
        assert not started.is_set(), "a restarted component must get a fresh started event"
        self.runs += 1
        started.set()
        async with self.up:
            self.up.notify_all()
        if self.runs <= self.failures:
            await self.fail.wait()
            self.fail.clear()
            raise RuntimeError(f"pacer exploded (run {self.runs})")
        await asyncio.Event().wait()

    async def wait_runs(self, runs: int) -> None:
        async with asyncio.timeout(DEADLINE), self.up:
            await self.up.wait_for(lambda: self.runs >= runs)


@dataclass
class Steady:
    name: str
    log: list[str]

    async def run(self, started: asyncio.Event) -> None:
        self.log.append(f"start {self.name}")
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"stop {self.name}")


class RecordingSleep:
    """The backoff's sleep: records each delay; ``gate`` holds it (a component down for a while)."""

    def __init__(self, *, held: bool = False) -> None:
        self.delays: list[float] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()
        self.waiting = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.waiting.set()
        await self.gate.wait()


@dataclass(frozen=True)
class Bare:
    """Components run on their own, with the settings their supervisor reads."""

    components: tuple[Any, ...]
    settings: Settings


def bare_container(tmp_path: Path, *components: Any, **settings: Any) -> Bare:
    return Bare(components, Settings(var_dir=tmp_path, **settings))


async def run_bare(bare: Bare, stop: asyncio.Event, hooks: SupervisionHooks) -> None:
    await _run_components(bare.components, stop, hooks=hooks, settings=bare.settings)


async def real_container(tmp_path: Path, **settings: Any) -> Container:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    return await build_container(Settings(var_dir=tmp_path, sip={"enabled": False}, **settings), db=db)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` with a deadline (the supervisor notes a start one loop turn after the component)."""
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.005)


async def stop_and_wait(runner: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(runner, DEADLINE)


# --------------------------------------------------------------------------- unit: the supervisor

@pytest.mark.parametrize("choice", LOOPS)
def test_a_failure_after_start_is_logged_counted_and_restarted(
    choice: EventLoopChoice, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        log: list[str] = []
        flaky = Flaky(failures=2)
        restarted: list[str] = []
        sleep = RecordingSleep()
        hooks = SupervisionHooks(on_restart=restarted.append, sleep=sleep, rng=random.Random(1))
        container = bare_container(tmp_path, Steady("recorder", log), flaky, Steady("agi", log))
        stop = asyncio.Event()
        runner = asyncio.create_task(run_bare(container, stop, hooks))
        await flaky.wait_runs(1)
        for runs in (2, 3):
            flaky.fail.set()
            await flaky.wait_runs(runs)
        assert restarted == ["flaky", "flaky"]
        await until(lambda: hooks.states.down() == [])  # the supervisor sees the third run up
        assert not runner.done()
        await stop_and_wait(runner, stop)
        assert log == ["start recorder", "start agi", "stop agi", "stop recorder"]  # the others never stopped

    with caplog.at_level(logging.ERROR, logger="ivr.supervision"):
        on_loop(choice, main)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all(getattr(r, "component", None) == "flaky" for r in errors)
    assert "flaky" in errors[0].getMessage() and "pacer exploded (run 1)" in errors[0].getMessage()


@pytest.mark.parametrize("choice", LOOPS)
def test_the_backoff_grows_and_is_capped_for_a_component_that_keeps_failing(
    choice: EventLoopChoice, tmp_path: Path
) -> None:
    async def main() -> None:
        flaky = Flaky(failures=8)
        sleep = RecordingSleep()
        hooks = SupervisionHooks(sleep=sleep, rng=random.Random(7))
        container = bare_container(tmp_path, flaky, supervision={"restart_base_delay": 1.0, "restart_max_delay": 8.0})
        stop = asyncio.Event()
        runner = asyncio.create_task(run_bare(container, stop, hooks))
        for runs in range(1, 9):
            await flaky.wait_runs(runs)
            flaky.fail.set()
        await flaky.wait_runs(9)
        await stop_and_wait(runner, stop)
        ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]
        assert len(sleep.delays) == len(ceilings)
        for delay, ceiling in zip(sleep.delays, ceilings, strict=True):
            assert ceiling / 2 <= delay <= ceiling  # equal jitter: half fixed, half random
        assert sleep.delays[3] > sleep.delays[0] and max(sleep.delays) <= 8.0

    on_loop(choice, main)


def test_backoff_delays_stay_within_their_bounds() -> None:
    backoff = Backoff(base=0.5, cap=30.0)
    rng = random.Random(3)
    for attempt in range(40):
        ceiling = min(30.0, 0.5 * 2**attempt)
        delays = {backoff.delay(attempt, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


@pytest.mark.parametrize("choice", LOOPS)
def test_a_component_in_backoff_is_down_and_a_stop_then_ends_cleanly(choice: EventLoopChoice, tmp_path: Path) -> None:
    async def main() -> None:
        log: list[str] = []
        flaky = Flaky(failures=1)
        sleep = RecordingSleep(held=True)  # the backoff never ends by itself
        hooks = SupervisionHooks(sleep=sleep, states=ComponentStates())
        container = bare_container(tmp_path, Steady("recorder", log), flaky)
        stop = asyncio.Event()
        runner = asyncio.create_task(run_bare(container, stop, hooks))
        await flaky.wait_runs(1)
        assert hooks.states.down() == []
        flaky.fail.set()
        await asyncio.wait_for(sleep.waiting.wait(), DEADLINE)
        assert hooks.states.down() == ["flaky"]
        await stop_and_wait(runner, stop)
        assert flaky.runs == 1 and log == ["start recorder", "stop recorder"]

    on_loop(choice, main)


@pytest.mark.parametrize("choice", LOOPS)
def test_a_component_that_returns_is_restarted_too(choice: EventLoopChoice, tmp_path: Path) -> None:
    @dataclass
    class Returns:
        name: str = "returns"
        runs: int = 0
        again: asyncio.Event = field(default_factory=asyncio.Event)

        async def run(self, started: asyncio.Event) -> None:
            self.runs += 1
            started.set()
            if self.runs == 1:
                return
            self.again.set()
            await asyncio.Event().wait()

    async def main() -> None:
        component = Returns()
        restarted: list[str] = []
        hooks = SupervisionHooks(on_restart=restarted.append, sleep=RecordingSleep())
        stop = asyncio.Event()
        runner = asyncio.create_task(run_bare(bare_container(tmp_path, component), stop, hooks))
        await asyncio.wait_for(component.again.wait(), DEADLINE)
        assert restarted == ["returns"]
        await stop_and_wait(runner, stop)

    on_loop(choice, main)


# --------------------------------------------------------------------------- the real server parts

async def _answer_script(channel: AgiChannel) -> None:
    await channel.answer()


async def _metric(client: httpx.AsyncClient, name: str, labels: dict[str, str]) -> float | None:
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


@pytest.mark.parametrize("choice", LOOPS)
def test_http_and_agi_keep_serving_while_a_failed_component_restarts(choice: EventLoopChoice, tmp_path: Path) -> None:
    async def main() -> None:
        container = await real_container(
            tmp_path, http={"port": 0}, agi={"port": 0}, audiosocket={"enabled": False},
            supervision={"restart_base_delay": 0.01, "restart_max_delay": 0.05},
        )
        agi = AgiServer(container.settings.agi, engine=None, scripts={"answer": _answer_script},
                        bus=container.bus)
        http = HttpServer(container)
        flaky = Flaky(failures=1)
        stop = asyncio.Event()
        runner = asyncio.create_task(_run_components((container.observability.loop_lag, agi, http, flaky), stop,
                                                     hooks=_hooks(container), settings=container.settings))
        try:
            await flaky.wait_runs(1)
            http_port = http.port
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=DEADLINE) as client:
                assert await _metric(client, "puente_component_restarts_total", {"component": "flaky"}) is None
                flaky.fail.set()
                await flaky.wait_runs(2)
                assert (await client.get("/health")).json() == {"status": "ok"}
                result = await drive(agi, CallerModel(), env=env_block(script="answer"))
                assert result.commands == ["ANSWER", 'SET VARIABLE PUENTE_RESULT "done"']
                assert await _metric(client, "puente_component_restarts_total", {"component": "flaky"}) == 1.0
            assert not runner.done()
        finally:
            await stop_and_wait(runner, stop)
            await container.aclose()

    on_loop(choice, main)


@pytest.mark.parametrize("choice", LOOPS)
def test_ready_reports_a_component_that_is_down(choice: EventLoopChoice, tmp_path: Path) -> None:
    async def main() -> None:
        container = await real_container(tmp_path, http={"port": 0}, agi={"enabled": False},
                                         audiosocket={"enabled": False})
        http = HttpServer(container)
        flaky = Flaky(failures=1)
        sleep = RecordingSleep(held=True)
        stop = asyncio.Event()
        hooks = SupervisionHooks(sleep=sleep, states=container.observability.component_states)
        runner = asyncio.create_task(_run_components((container.observability.loop_lag, http, flaky), stop,
                                                     hooks=hooks, settings=container.settings))
        try:
            await flaky.wait_runs(1)
            port = http.port
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE) as client:
                up = (await client.get("/ready")).json()
                assert up["checks"]["components"] == {"ok": True, "down": []}
                flaky.fail.set()
                await asyncio.wait_for(sleep.waiting.wait(), DEADLINE)
                response = await client.get("/ready")
                # calls still work (no listener is down): degraded, with the component named
                assert response.status_code == 200
                assert response.json()["status"] == "degraded" and "components" in response.json()["down"]
                assert response.json()["checks"]["components"] == {"ok": False, "down": ["flaky"]}
        finally:
            await stop_and_wait(runner, stop)
            await container.aclose()

    on_loop(choice, main)

