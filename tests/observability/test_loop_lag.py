"""``puente_event_loop_lag_seconds``: a callback scheduled every interval records how late it ran,
so a call that holds the loop shows up in the histogram (on the standard loop and on uvloop)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ivr import loops
from ivr.events import EventBus
from ivr.loops import EventLoopChoice
from ivr.observability.looplag import LoopLagMonitor
from ivr.observability.metrics import Metrics
from ivr.observability.plugin import build
from ivr.settings import Settings

LOOPS = [EventLoopChoice.ASYNCIO, pytest.param(EventLoopChoice.UVLOOP, id="uvloop")]


def bucket(metrics: Metrics, le: str) -> float:
    value = metrics.registry.get_sample_value("puente_event_loop_lag_seconds_bucket", {"le": le})
    assert value is not None
    return value


def lag_sum(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value("puente_event_loop_lag_seconds_sum")
    assert value is not None
    return value


async def samples_reach(monitor: LoopLagMonitor, count: int) -> None:
    async with asyncio.timeout(10):
        while monitor.samples < count:
            await asyncio.sleep(0.005)


async def blocked_loop_is_measured() -> None:
    metrics = Metrics()
    monitor = LoopLagMonitor(metrics.event_loop_lag, interval=0.01)
    started = asyncio.Event()
    task = asyncio.create_task(monitor.run(started))
    try:
        await asyncio.wait_for(started.wait(), 10)
        await samples_reach(monitor, 3)
        late_before, lag_before = bucket(metrics, "+Inf") - bucket(metrics, "0.1"), lag_sum(metrics)
        time.sleep(0.3)  # noqa: ASYNC251 - the point: a handler that blocks the loop
        seen = monitor.samples
        await samples_reach(monitor, seen + 2)
        # the callback held behind the block ran 0.2-0.3 s late (its 10 ms interval began before it)
        assert bucket(metrics, "+Inf") - bucket(metrics, "0.1") >= late_before + 1
        assert lag_sum(metrics) - lag_before >= 0.2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("choice", LOOPS)
def test_a_blocking_call_shows_up_in_the_lag_histogram(choice: EventLoopChoice) -> None:
    if choice is EventLoopChoice.UVLOOP:
        pytest.importorskip("uvloop", reason="uvloop is not installed (it is a dependency on Linux)")
    loops.run(blocked_loop_is_measured(), choice)


async def test_the_server_runs_the_monitor_and_exports_it(tmp_path: Path) -> None:
    observability = build(Settings(var_dir=tmp_path, supervision={"loop_lag_interval": 0.05}), EventBus())
    [monitor] = [c for c in observability.components if isinstance(c, LoopLagMonitor)]
    assert observability.loop_lag is monitor and monitor.name == "loop-lag"
    families = {f.name for f in text_string_to_metric_families(generate_latest(observability.metrics.registry)
                                                                  .decode())}
    assert "puente_event_loop_lag_seconds" in families
