"""CPU-bound work off the event loop that carries calls: bounded, with a deadline.

Two runners share one API, ``await runner.run(fn, *args, timeout=seconds)``:

- :class:`ProcessRunner` keeps up to ``workers`` long-lived worker processes
  (``python -m ivr.offload``, started on first use, with the job modules imported once) and sends
  each job to an idle one over a pipe. A process can be killed, so the deadline is hard: a job past
  it is killed with its worker (a fresh one replaces it on demand) and :class:`RunnerTimeout`
  raised; each worker's address space is capped, so a runaway allocation is a ``MemoryError`` in
  the worker, not in the server. Use it for work whose cost depends on what a peer or a user sends
  (parsing and validating documents), where "provably short" cannot be shown from the input alone.
  The workers are plain subprocesses driven by asyncio (no ``multiprocessing``: it re-imports the
  server's main module in every child and needs threads to wait on pipes).
- :class:`ThreadRunner` is a bounded thread pool. A thread cannot be stopped, so its deadline only
  stops the *waiting*; use it only for work that is short by construction and releases the GIL
  (argon2 hashing, C code): pure-Python work in a thread still competes with the loop for the GIL.

Both bound how many jobs run at once (``workers``) and how many may wait behind them
(``max_waiting``): one more is refused at once with :class:`RunnerBusy`, never queued without limit.
For the process runner ``fn`` must be a module-level function and its arguments picklable; the
pickles only travel between the server and its own workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, Protocol, TypeVar, TypeVarTuple

log = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
_HEADER = 8  # bytes of the big-endian length before each pickle on the pipes
_READY = b"R"  # a worker writes this once its modules are imported
_START_SECONDS = 60.0  # a worker's own start-up (imports), not part of any job's deadline


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
    async def run(self, fn: Callable[[*Ts], T], *args: *Ts, timeout: float) -> T: ...


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
    """Long-lived worker processes, one job at a time each, killed at a job's deadline."""

    def __init__(
        self, *, workers: int = 2, max_waiting: int = 8, preload: Sequence[str] = (),
        memory_limit_bytes: int | None = 512 * 1024 * 1024,
    ) -> None:
        self._gate = _Gate(workers, max_waiting)
        self._preload = tuple(preload)
        self._memory = memory_limit_bytes
        self._idle: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts, timeout: float) -> T:
        self._gate.enter()
        try:
            async with self._gate.slots:
                ok, value = await self._run_one(pickle.dumps((fn, args)), timeout)
        finally:
            self._gate.leave()
        if ok:
            result: T = value
            return result
        if isinstance(value, BaseException):
            raise value
        raise RunnerFailed(str(value))

    async def _run_one(self, payload: bytes, timeout: float) -> tuple[bool, Any]:
        worker = self._take_idle() or await _Worker.start(self._preload, self._memory)
        healthy = False
        try:
            outcome = await worker.call(payload, timeout)
            healthy = True
            return outcome
        finally:
            if healthy:
                self._idle.append(worker)
            else:  # timed out, died, or we were cancelled mid-job: its state is unknown
                await worker.kill()

    def _take_idle(self) -> _Worker | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # workers belong to the loop that started them
            for worker in self._idle:
                worker.kill_now()
            self._idle.clear()
            self._loop = loop
        return self._idle.pop() if self._idle else None

    async def aclose(self) -> None:
        """Stop the idle workers (a busy one is killed when its job ends)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.stop()


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls, preload: Sequence[str], memory: int | None) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ivr.offload", ",".join(preload), str(memory or 0),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = cls(proc)
        assert proc.stdout is not None
        try:
            ready = await asyncio.wait_for(proc.stdout.readexactly(1), _START_SECONDS)
        except (TimeoutError, asyncio.IncompleteReadError):
            await worker.kill()
            raise RunnerFailed(f"the worker process did not start (exit code {proc.returncode})") from None
        if ready != _READY:
            await worker.kill()
            raise RunnerFailed("the worker process did not start (unexpected output)")
        return worker

    async def call(self, payload: bytes, timeout: float) -> tuple[bool, Any]:
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        async def exchange() -> bytes:
            stdin.write(len(payload).to_bytes(_HEADER, "big") + payload)
            await stdin.drain()
            size = int.from_bytes(await stdout.readexactly(_HEADER), "big")
            return await stdout.readexactly(size)

        try:
            reply = await asyncio.wait_for(exchange(), timeout)
        except TimeoutError:
            raise RunnerTimeout(timeout) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.kill()
            raise RunnerFailed(f"the worker process died (exit code {proc.returncode})") from None
        outcome: tuple[bool, Any] = pickle.loads(reply)
        return outcome

    async def kill(self) -> None:
        # os.kill, not Popen.kill: Popen polls first, and a poll that reaps a worker which has just
        # died steals its exit status from asyncio's child watcher (it then reports 255).
        self.kill_now()
        await self._proc.wait()

    def kill_now(self) -> None:
        """Without a loop (the one that started it is gone): the pid alone."""
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, 9)

    async def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()  # the worker's loop ends at end of file
        try:
            await asyncio.wait_for(self._proc.wait(), 5.0)
        except TimeoutError:
            await self.kill()


# --------------------------------------------------------------------------- in the worker process
WORKER_NICENESS = 10  # below the server: on a small machine the calls' event loop runs first


def _worker_main(preload: str, memory: int) -> None:
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    replies = os.fdopen(os.dup(1), "wb")  # the pipe to the server, kept for replies only
    os.dup2(2, 1)  # whatever a job prints goes to stderr, never into the replies
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    for module in filter(None, preload.split(",")):
        importlib.import_module(module)
    if memory:
        _cap_memory(memory)  # after the imports: the cap is what jobs may add
    replies.write(_READY)
    replies.flush()
    while (request := _read_frame(requests)) is not None:
        fn, args = pickle.loads(request)
        outcome: tuple[bool, Any]
        try:
            outcome = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - sent back and raised in the server, as it was
            outcome = (False, exc)
        try:
            reply = pickle.dumps(outcome)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception: say so in words
            reply = pickle.dumps((False, f"cannot send the result back: {type(exc).__name__}: {exc}"))
        replies.write(len(reply).to_bytes(_HEADER, "big") + reply)
        replies.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        return None  # the server closed the pipe (or is gone): stop
    size = int.from_bytes(header, "big")
    body = stream.read(size)
    return body if len(body) == size else None


def _cap_memory(extra: int) -> None:
    """Limit the address space to what it is now plus ``extra`` (Linux)."""
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
    """A bounded thread pool; the deadline stops the wait, not the thread (see the module doc).

    A job holds its place until its thread is done with it, even when its waiter gave up (deadline,
    cancelled request): the bound is on work the threads really have. ``niceness`` > 0 runs the
    threads below the event loop (Linux sets it per thread), so on a busy machine the loop that
    carries the calls wins the CPU.
    """

    def __init__(self, *, workers: int = 2, max_waiting: int = 8, name: str = "offload", niceness: int = 0) -> None:
        if workers < 1 or max_waiting < 0:
            raise ValueError("workers must be >= 1 and max_waiting >= 0")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name,
                                        initializer=_thread_niceness, initargs=(niceness,))
        self._limit = workers + max_waiting
        self._lock = threading.Lock()  # the count is released from the worker threads
        self._inside = 0

    @property
    def pending(self) -> int:
        """Jobs running or waiting for a thread."""
        return self._inside

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts, timeout: float) -> T:
        with self._lock:
            if self._inside >= self._limit:
                raise RunnerBusy(self._limit)
            self._inside += 1
        try:
            job: Future[T] = self._pool.submit(fn, *args)
        except RuntimeError:  # the pool was shut down
            self._release(None)
            raise
        job.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), timeout)
        except TimeoutError:
            raise RunnerTimeout(timeout) from None

    def _release(self, _job: object) -> None:
        with self._lock:
            self._inside -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _thread_niceness(niceness: int) -> None:
    if niceness == 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError:  # not allowed: the pool still works, at the normal priority
        return


if __name__ == "__main__":
    _worker_main(sys.argv[1], int(sys.argv[2]))
