"""Jobs for the speech worker process's tests (pickled by name: the worker imports this module)."""

from __future__ import annotations

import os
from pathlib import Path


def echo(value: object) -> object:
    return value


def worker_pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def read_fifo(path: str) -> str:
    """Blocks until the test opens the FIFO for writing and closes it: a job held on its lane."""
    return Path(path).read_text()


class Unpicklable(Exception):
    def __init__(self, message: str, handle: object) -> None:
        super().__init__(message)
        self.handle = handle


def fail_unpicklably(message: str) -> None:
    raise Unpicklable(message, lambda: None)
