"""Jobs for the offload runners' tests. A job is pickled by reference, so the worker process
imports this module under its memory cap: it imports nothing heavy (not pytest, not the tests)."""

from __future__ import annotations

import os
import time


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def spin_forever() -> None:
    while True:
        pass


def hog_memory(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def die() -> None:
    os._exit(3)


def pid() -> int:
    return os.getpid()


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def niceness() -> int:
    return os.nice(0)
