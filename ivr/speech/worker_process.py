"""A speech worker process, driven from the server: jobs in over a pipe, results back, two lanes inside.

``concurrent.futures.ProcessPoolExecutor`` runs one call at a time per process, so a PocketSphinx
turn (~50 ms) waited behind every Whisper turn queued before it (~170 ms each, 2-core machine).
Here each process has a lane per kind of work (``Lane``, ivr.speech.worker.serve): CTranslate2 and
ONNX Runtime let go of the GIL while they compute, so a Whisper decode on the heavy lane and a
PocketSphinx decode on the light lane run at once, on two cores, sharing one copy of each model.
A second process would do the same for ~300 MB more. (ivr.offload's ProcessRunner is not used for
the same reason: one job at a time per worker; and it kills a worker at a job's deadline, where a
speech worker holds models that take seconds to load.)

Threads here only move bytes: one sends (a job's audio is ~100 kB, more than a pipe holds, and the
event loop must not wait for the worker to read it), one receives and settles the futures the
runner awaits. A worker that dies fails its outstanding jobs with :class:`WorkerDied`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import pickle
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.context import SpawnContext
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ivr.speech import worker
from ivr.speech.worker import Job, Lane

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0  # a clean stop: the lanes finish the decode in hand (a second at most) and exit


class WorkerDied(Exception):
    """The worker process ended (killed, out of memory) with jobs outstanding."""


class WorkerProcess:
    """One worker process. ``submit`` is thread-safe and never blocks on the pipe."""

    def __init__(self, context: SpawnContext) -> None:
        ours, theirs = context.Pipe()
        self._process = context.Process(target=worker.serve, args=(theirs,), name="ivr-speech-worker", daemon=True)
        self._process.start()
        theirs.close()
        self._conn = ours
        self._outbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._futures: dict[int, tuple[Lane, Future[Any]]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._ended = False
        self._sender = threading.Thread(target=self._send_all, name="speech-worker-send", daemon=True)
        self._receiver = threading.Thread(target=self._receive_all, name="speech-worker-receive", daemon=True)
        self._sender.start()
        self._receiver.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def outstanding(self, lane: Lane) -> int:
        with self._lock:
            return sum(1 for held, _ in self._futures.values() if held is lane)

    def submit(self, lane: Lane, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` (a module-level function: it is pickled by name) on ``lane``."""
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()  # an awaiting turn that is cancelled cannot unsettle it
        with self._lock:
            if self._ended:
                raise WorkerDied("the speech worker process has ended")
            job = next(self._ids)
            self._futures[job] = (lane, future)
        self._outbox.put((job, lane, fn, args))
        return future

    def stop(self, *, wait: bool) -> None:
        """Ask the worker to finish and exit; ``wait``: until it has (else it is ended if it hangs)."""
        self._outbox.put(None)
        if wait:
            self._sender.join(STOP_SECONDS)
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                log.error("speech worker %s did not stop in %.0f s: ended", self._process.pid, STOP_SECONDS)
                self._process.kill()
                self._process.join(STOP_SECONDS)
            self._receiver.join(STOP_SECONDS)
        self._fail_outstanding(WorkerDied("the speech worker process was stopped"))

    def _send_all(self) -> None:
        while (item := self._outbox.get()) is not None:
            job = item[0]
            try:
                data = bytes(ForkingPickler.dumps(item))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:  # this job's arguments only
                self._settle(job, None, exc)
                continue
            try:
                self._conn.send_bytes(data)
            except OSError as exc:  # the worker is gone; the receiver fails what is outstanding
                log.warning("speech worker %s: %s", self._process.pid, exc)
                return
        with contextlib.suppress(OSError):  # already gone: nothing left to tell it
            self._conn.send(None)

    def _receive_all(self) -> None:
        while True:
            try:
                job, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            self._settle(job, value if ok else None, None if ok else value)
        self._fail_outstanding(WorkerDied(f"the speech worker process {self._process.pid} ended"))

    def _settle(self, job: int, value: Any, error: BaseException | None) -> None:
        with self._lock:
            entry = self._futures.pop(job, None)
        if entry is None:
            return
        _, future = entry
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def _fail_outstanding(self, error: Exception) -> None:
        with self._lock:
            self._ended = True
            entries, self._futures = list(self._futures.values()), {}
        for _, future in entries:
            future.set_exception(error)
