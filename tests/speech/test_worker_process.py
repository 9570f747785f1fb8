"""The speech worker process: a lane per kind of work, failures kept to their job, death noticed."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.channel import Grammar
from ivr.speech import worker
from ivr.speech.base import SpeechError
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.whisper import WhisperEngine
from ivr.speech.runner import SpeechRunner
from ivr.speech.worker import Lane, lane_of
from ivr.speech.worker_process import WorkerDied, WorkerProcess
from tests.support import lane_jobs
from tests.support.speech_audio import say_through

WAIT = 60.0  # a spawned worker imports the speech engines before its first job


@pytest.fixture
def process() -> Iterator[WorkerProcess]:
    worker = WorkerProcess(multiprocessing.get_context("spawn"))
    try:
        yield worker
    finally:
        worker.stop(wait=True)


def test_whisper_decodes_on_the_heavy_lane_and_pocketsphinx_on_the_light(tmp_path: Path) -> None:
    sphinx = PocketSphinxEngine("en")
    whisper = WhisperEngine("en", tmp_path / "whisper-base", pocketsphinx=sphinx)
    assert (lane_of(worker.spec_of(whisper)), lane_of(worker.spec_of(sphinx))) == (Lane.HEAVY, Lane.LIGHT)


def test_a_light_job_is_answered_while_the_heavy_lane_is_busy(process: WorkerProcess, tmp_path: Path) -> None:
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    held = process.submit(Lane.HEAVY, lane_jobs.read_fifo, str(fifo))
    queued_behind = process.submit(Lane.HEAVY, lane_jobs.echo, "after")
    light = process.submit(Lane.LIGHT, lane_jobs.echo, "light")
    assert light.result(WAIT) == "light"
    assert not held.done() and not queued_behind.done()  # the heavy lane still holds its first job
    assert (process.outstanding(Lane.HEAVY), process.outstanding(Lane.LIGHT)) == (2, 0)
    fifo.write_text("released")
    assert (held.result(WAIT), queued_behind.result(WAIT)) == ("released", "after")


def test_a_failing_job_fails_alone(process: WorkerProcess) -> None:
    with pytest.raises(ValueError, match="this one"):
        process.submit(Lane.LIGHT, lane_jobs.fail, "this one").result(WAIT)
    with pytest.raises(RuntimeError, match="Unpicklable: not this way"):
        process.submit(Lane.LIGHT, lane_jobs.fail_unpicklably, "not this way").result(WAIT)
    with pytest.raises((AttributeError, TypeError)):
        process.submit(Lane.HEAVY, lane_jobs.echo, lambda: None).result(WAIT)  # cannot be sent
    assert process.submit(Lane.LIGHT, lane_jobs.echo, 1).result(WAIT) == 1
    assert process.submit(Lane.HEAVY, lane_jobs.echo, 2).result(WAIT) == 2


def test_a_killed_worker_fails_what_it_held_and_takes_no_more(process: WorkerProcess, tmp_path: Path) -> None:
    pid = process.submit(Lane.LIGHT, lane_jobs.worker_pid).result(WAIT)
    assert pid == process.pid
    fifo = tmp_path / "never"
    os.mkfifo(fifo)
    held = process.submit(Lane.HEAVY, lane_jobs.read_fifo, str(fifo))
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerDied):
        held.result(WAIT)
    with pytest.raises(WorkerDied):
        process.submit(Lane.LIGHT, lane_jobs.echo, 1)


def test_stopping_ends_the_process() -> None:
    worker = WorkerProcess(multiprocessing.get_context("spawn"))
    pid = worker.submit(Lane.LIGHT, lane_jobs.worker_pid).result(WAIT)
    worker.stop(wait=True)
    assert not Path(f"/proc/{pid}").exists()  # ended and reaped
    with pytest.raises(WorkerDied):
        worker.submit(Lane.LIGHT, lane_jobs.echo, 1)


@pytest.mark.speech
@pytest.mark.usefixtures("espeak")
async def test_a_dead_worker_costs_one_turn_and_is_replaced() -> None:
    engine = PocketSphinxEngine("en")
    menu = Grammar("en", {"billing": "1", "technical support": "2"})
    runner = SpeechRunner(1, deadline=60.0)

    try:
        await runner.warm(engine)
        [first] = runner.worker_pids
        os.kill(first, signal.SIGKILL)
        with pytest.raises(SpeechError, match="died"):
            await say_through(runner, engine, menu, "billing")
        assert await say_through(runner, engine, menu, "billing") == "1"
        assert runner.worker_pids != [first] and len(runner.worker_pids) == 1
        assert (runner.stats.failed, runner.stats.decoded, runner.pending) == (1, 1, 0)
    finally:
        runner.shutdown()
    assert runner.worker_pids == []
