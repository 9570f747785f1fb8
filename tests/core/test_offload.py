"""The offload runners: results and errors come back typed, the deadline kills, the queue is bounded."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from ivr.offload import ProcessRunner, RunnerBusy, RunnerFailed, RunnerTimeout, ThreadRunner
from tests.support.offload_jobs import add, die, fail, hog_memory, nap, niceness, pid, spin_forever


@pytest.fixture
async def process_runner() -> AsyncIterator[ProcessRunner]:
    runner = ProcessRunner(workers=1, memory_limit_bytes=64 * 1024 * 1024)
    yield runner
    await runner.aclose()


async def test_a_process_job_returns_its_value_and_raises_its_error(process_runner: ProcessRunner) -> None:
    assert await process_runner.run(add, 2, 3, timeout=30) == 5
    with pytest.raises(ValueError, match="bad input"):
        await process_runner.run(fail, "bad input", timeout=30)
    # the worker stays for the next job (an error in a job is not an error of the worker)
    first = await process_runner.run(pid, timeout=30)
    assert first != os.getpid() and await process_runner.run(pid, timeout=30) == first


async def test_a_process_job_past_its_deadline_is_killed(process_runner: ProcessRunner) -> None:
    before = await process_runner.run(pid, timeout=30)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RunnerTimeout, match=r"within 0\.5 s"):
        await process_runner.run(spin_forever, timeout=0.5)
    assert loop.time() - started < 20  # generous: the kill is immediate
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)  # the worker that ran it is gone (and reaped)
    # the slot is free again and the next job runs in a new worker
    assert await process_runner.run(pid, timeout=30) not in (before, os.getpid())


async def test_a_process_job_that_dies_or_allocates_too_much_fails_alone(process_runner: ProcessRunner) -> None:
    with pytest.raises(RunnerFailed, match="exit code 3"):
        await process_runner.run(die, timeout=30)
    with pytest.raises(MemoryError):
        await process_runner.run(hog_memory, 512, timeout=30)
    assert await process_runner.run(hog_memory, 8, timeout=30) == 8 * 1024 * 1024


async def test_more_jobs_than_workers_and_queue_are_refused_at_once() -> None:
    runner = ThreadRunner(workers=1, max_waiting=1)
    first = asyncio.create_task(runner.run(nap, 0.3, timeout=30))
    second = asyncio.create_task(runner.run(nap, 0.0, timeout=30))
    await asyncio.sleep(0)  # both entered
    with pytest.raises(RunnerBusy, match="limit 2"):
        await runner.run(nap, 0.0, timeout=30)
    assert await first == 0.3 and await second == 0.0
    assert await runner.run(add, 1, 1, timeout=30) == 2
    runner.close()


async def test_a_thread_job_past_its_deadline_stops_the_wait() -> None:
    runner = ThreadRunner(workers=1, max_waiting=0)
    with pytest.raises(RunnerTimeout):
        await runner.run(nap, 2.0, timeout=0.05)
    runner.close()


async def test_process_workers_run_below_the_server(process_runner: ProcessRunner) -> None:
    """On a small machine the calls' event loop must win the CPU over a flow being checked."""
    from ivr.offload import WORKER_NICENESS

    assert await process_runner.run(niceness, timeout=30) >= min(os.nice(0) + WORKER_NICENESS, 19)


async def test_a_thread_job_holds_its_place_until_its_thread_is_done() -> None:
    """A waiter that gave up (deadline) does not free the place while its thread still works:
    the bound is on the work the threads really have."""
    runner = ThreadRunner(workers=1, max_waiting=0)
    with pytest.raises(RunnerTimeout):
        await runner.run(nap, 0.5, timeout=0.05)
    assert runner.pending == 1
    with pytest.raises(RunnerBusy):
        await runner.run(add, 1, 1, timeout=30)
    loop = asyncio.get_running_loop()
    end = loop.time() + 10
    while runner.pending and loop.time() < end:
        await asyncio.sleep(0.02)
    assert await runner.run(add, 1, 1, timeout=30) == 2
    runner.close()


async def test_thread_workers_can_run_below_the_server() -> None:
    runner = ThreadRunner(workers=1, max_waiting=0, niceness=10)
    assert await runner.run(niceness, timeout=30) >= min(os.nice(0) + 10, 19)
    runner.close()
