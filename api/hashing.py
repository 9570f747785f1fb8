"""Password hashing (argon2id) off the event loop, in a small bounded thread pool.

One argon2 hash at the default cost takes ~0.1-0.3 s of CPU and 64 MiB of memory. The event loop
that serves HTTP also paces RTP and answers SIP, so no hash may run on it: every hash and
verification runs in a dedicated thread pool (argon2-cffi releases the GIL while it works). The pool
has a fixed number of workers and a bounded number of jobs in flight; past that bound a request is
refused at once (:class:`HashingBusy`, answered 503 with ``Retry-After``) instead of waiting in an
unbounded queue.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ivr.settings import AuthSettings

T = TypeVar("T")

# argon2 accepts any length; a bound keeps one request's cost predictable.
MAX_PASSWORD_CHARS = 256
RETRY_AFTER_SECONDS = 1


class HashingBusy(Exception):
    """Every slot of the hashing pool is taken: try again shortly."""

    retry_after = RETRY_AFTER_SECONDS


class PasswordHashing:
    """argon2 hash/verify in a bounded pool. ``max_pending`` counts running and queued jobs."""

    def __init__(self, hasher: PasswordHasher, *, workers: int, max_pending: int,
                 executor: ThreadPoolExecutor | None = None) -> None:
        if workers < 1 or max_pending < workers:
            raise ValueError("hashing needs workers >= 1 and max_pending >= workers")
        self.hasher = hasher
        self._workers = workers
        self._max_pending = max_pending
        self._executor = executor or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="puente-hash",
                                                        initializer=_lower_priority)
        self._lock = threading.Lock()  # the count is released from worker threads
        self._pending = 0
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> PasswordHashing:
        return cls(PasswordHasher(time_cost=auth.password_time_cost, memory_cost=auth.password_memory_kib),
                   workers=auth.hash_workers, max_pending=auth.hash_max_pending)

    def with_hasher(self, hasher: PasswordHasher) -> PasswordHashing:
        """The same pool with other argon2 parameters (tests use cheap ones)."""
        return PasswordHashing(hasher, workers=self._workers, max_pending=self._max_pending,
                               executor=self._executor)

    @property
    def pending(self) -> int:
        return self._pending

    async def hash(self, password: str) -> str:
        _check_length(password)
        return await self._run(self.hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        _check_length(password)
        return await self._run(_verify, self.hasher, stored_hash, password)

    async def verify_dummy(self, password: str) -> None:
        """The same work as checking a real user's password, for unknown usernames: the answer's
        timing then does not tell which usernames exist."""
        _check_length(password)
        if self._dummy is None:
            self._dummy = await self._run(self.hasher.hash, secrets.token_hex(16))
        await self._run(_verify, self.hasher, self._dummy, password)

    async def warm(self) -> None:
        """Prepare the dummy hash at start-up, so the first unknown username costs no more than later ones."""
        if self._dummy is None:
            self._dummy = await self._run(self.hasher.hash, secrets.token_hex(16))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pending >= self._max_pending:
                raise HashingBusy("password checks are busy")
            self._pending += 1
        try:
            job: Future[T] = self._executor.submit(fn, *args)
        except RuntimeError:  # the pool was shut down
            self._release(None)
            raise
        # Released when the thread finishes, not when the awaiting request goes away: a cancelled
        # request's hash still occupies its worker until it is done.
        job.add_done_callback(self._release)
        return await asyncio.wrap_future(job)

    def _release(self, _job: object) -> None:
        with self._lock:
            self._pending -= 1


HASH_THREAD_NICENESS = 10


def _lower_priority() -> None:
    """On a busy machine the hashing threads compete with the event loop for the cores: give them a
    lower scheduling priority (Linux sets niceness per thread), so the loop that paces RTP wins."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the pool still works
        return


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_length(password: str) -> None:
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"passwords have at most {MAX_PASSWORD_CHARS} characters")
