"""CPU-bound work off the event loop that carries calls: bounded, with a deadline.

Two runners share one API, ``await runner.run(fn, *args, timeout=seconds)``:

- :class:`ProcessRunner` runs each job in its own process, forked from a forkserver that has
  already imported the modules the jobs need (so a job starts in milliseconds). A process can be
  killed, so the deadline is hard: when it passes the job is killed and :class:`RunnerTimeout`
  raised, and a memory cap (``RLIMIT_AS``) turns a runaway allocation into a ``MemoryError`` in
  the child, not in the server. Use it for work whose cost depends on what a peer or a user sends
  (parsing and validating documents), where "provably short" cannot be shown from the input alone.
- :class:`ThreadRunner` is a bounded thread pool. A thread cannot be stopped, so its deadline only
  stops the *waiting*; use it only for work that is short by construction and releases the GIL
  (argon2 hashing, C code): pure-Python work in a thread still competes with the loop for the GIL.

Both bound how many jobs run at once (``workers``) and how many may wait behind them
(``max_waiting``): one more is refused at once with :class:`RunnerBusy`, never queued without limit.
``fn`` and its arguments must be picklable for the process runner (a module-level function).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.context
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class RunnerError(Exception):
    """The job did not produce a result (busy, too slow, or its process died)."""


class RunnerBusy(RunnerError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"too many jobs waiting (limit {limit}); try again shortly")


class RunnerTimeout(RunnerError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} s")
        self.seconds = seconds


class RunnerFailed(RunnerError):
    """The worker process died or its result could not be sent back."""


class Runner(Protocol):
    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T: ...


class _Gate:
    """``workers`` at once, at most ``max_waiting`` more waiting; the rest refused."""

    def __init__(self, workers: int, max_waiting: int) -> None:
        if workers < 1 or max_waiting < 0:
            raise ValueError("workers must be >= 1 and max_waiting >= 0")
        self._slots = asyncio.Semaphore(workers)
        self._limit = workers + max_waiting
        self._inside = 0

    def enter(self) -> None:
        if self._inside >= self._limit:
            raise RunnerBusy(self._limit)
        self._inside += 1

    def leave(self) -> None:
        self._inside -= 1

    @property
    def slots(self) -> asyncio.Semaphore:
        return self._slots


class ProcessRunner:
    """One process per job (from a forkserver), killed at the deadline."""

    def __init__(
        self, *, workers: int = 2, max_waiting: int = 8, preload: Sequence[str] = (),
        memory_limit_bytes: int | None = 512 * 1024 * 1024,
    ) -> None:
        # forkserver: a clean, single-threaded parent for every job (fork() from a process running
        # an event loop and threads is unsafe), with the job's modules imported once.
        self._ctx: multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            if preload:
                self._ctx.set_forkserver_preload(list(preload))
        else:
            self._ctx = multiprocessing.get_context("spawn")
        self._gate = _Gate(workers, max_waiting)
        self._memory = memory_limit_bytes

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        self._gate.enter()
        try:
            async with self._gate.slots:
                return await self._run_one(fn, args, timeout)
        finally:
            self._gate.leave()

    async def _run_one(self, fn: Callable[..., T], args: tuple[Any, ...], timeout: float) -> T:
        reader, writer = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, args=(writer, fn, args, self._memory), daemon=True,
                                 name=f"offload:{getattr(fn, '__name__', 'job')}")
        # Starting talks to the forkserver (and starts it the first time): not on the loop. If we
        # are cancelled meanwhile, the start still completes, so the process can be killed below.
        starting = asyncio.ensure_future(asyncio.to_thread(proc.start))
        try:
            await asyncio.shield(starting)
            writer.close()  # the child holds the only writer: its exit is our end of file
            # The receiving thread owns the reader and closes it; killing the child ends its wait.
            outcome = await asyncio.wait_for(asyncio.to_thread(_receive, reader), timeout)
        except TimeoutError:
            raise RunnerTimeout(timeout) from None
        finally:
            if not starting.done():
                await asyncio.wait({starting})
                if (error := starting.exception()) is not None:
                    log.warning("a worker process did not start", extra={"error": repr(error)})
            writer.close()
            if proc.pid is not None:
                if proc.is_alive():
                    proc.kill()
                await asyncio.to_thread(proc.join, 5.0)
        if outcome is None:
            raise RunnerFailed(f"the worker process died (exit code {proc.exitcode})")
        ok, value = outcome
        if ok:
            result: T = value
            return result
        if isinstance(value, BaseException):
            raise value
        raise RunnerFailed(str(value))


def _receive(reader: Connection) -> tuple[bool, Any] | None:
    try:
        outcome: tuple[bool, Any] = reader.recv()
        return outcome
    except EOFError:
        return None
    finally:
        reader.close()


def _child(writer: Connection, fn: Callable[..., Any], args: tuple[Any, ...], memory: int | None) -> None:
    if memory is not None:
        _cap_memory(memory)
    outcome: tuple[bool, Any]
    try:
        outcome = (True, fn(*args))
    except Exception as exc:  # noqa: BLE001 - sent back and raised in the parent, as it was
        outcome = (False, exc)
    try:
        writer.send(outcome)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception: say so in words
        writer.send((False, f"cannot send the result back: {type(exc).__name__}: {exc}"))
    finally:
        writer.close()


def _cap_memory(extra: int) -> None:
    """Limit the child's address space to what it has now plus ``extra`` (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    limit = pages * os.sysconf("SC_PAGE_SIZE") + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class ThreadRunner:
    """A bounded thread pool; the deadline stops the wait, not the thread (see the module doc)."""

    def __init__(self, *, workers: int = 2, max_waiting: int = 8, name: str = "offload") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._gate = _Gate(workers, max_waiting)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        self._gate.enter()
        try:
            async with self._gate.slots:
                future = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
                try:
                    return await asyncio.wait_for(future, timeout)
                except TimeoutError:
                    raise RunnerTimeout(timeout) from None
        finally:
            self._gate.leave()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
