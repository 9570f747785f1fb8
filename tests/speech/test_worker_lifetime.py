"""A speech worker process ends with the server, even one busy decoding when the server is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
sys.path.insert(0, {root!r})
from ivr.speech import worker

pool = ProcessPoolExecutor(1, initializer=worker.start, mp_context=multiprocessing.get_context("spawn"))
print(pool.submit(os.getpid).result(), flush=True)
started = {started!r}
pool.submit(exec, f"import pathlib, time; pathlib.Path({{started!r}}).touch(); time.sleep(60)")  # a long decode
deadline = time.monotonic() + 30
while not os.path.exists(started) and time.monotonic() < deadline:
    time.sleep(0.01)
os._exit(0 if os.path.exists(started) else 3)  # the server dies without shutting its pool down
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in fh)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_busy_worker_ends_when_its_server_dies(tmp_path: Path) -> None:
    script = SERVER.format(root=str(ROOT), started=str(tmp_path / "decoding"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    try:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), "the worker outlived its server"
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
