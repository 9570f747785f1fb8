"""Password hashing (argon2id) off the event loop, in the bounded thread runner of :mod:`ivr.offload`.

One argon2 hash at the default cost takes ~0.1-0.3 s of CPU and 64 MiB of memory. The event loop
that serves HTTP also answers SIP, so no hash may run on it: every hash and verification runs in a
:class:`~ivr.offload.ThreadRunner` of its own (argon2-cffi releases the GIL while it works), whose
threads run at a lower priority than the loop. It has a fixed number of workers and a bounded
number of jobs in flight (a job holds its place until its thread is done, even if the request went
away); past that bound a request is refused at once (:class:`HashingBusy`, answered 503 with
``Retry-After``) instead of waiting in an unbounded queue.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ivr.offload import RunnerBusy, RunnerTimeout, ThreadRunner
from ivr.settings import AuthSettings

T = TypeVar("T")

# argon2 accepts any length; a bound keeps one request's cost predictable.
MAX_PASSWORD_CHARS = 256
RETRY_AFTER_SECONDS = 1
HASH_THREAD_NICENESS = 10
# How long a request waits for its check (the thread itself cannot be stopped): far above one hash.
_WAIT_SECONDS = 30.0


class HashingBusy(Exception):
    """Every slot of the hashing pool is taken: try again shortly."""

    retry_after = RETRY_AFTER_SECONDS


class PasswordHashing:
    """argon2 hash/verify in a bounded runner. ``max_pending`` counts running and queued jobs."""

    def __init__(self, hasher: PasswordHasher, *, workers: int, max_pending: int,
                 runner: ThreadRunner | None = None) -> None:
        if workers < 1 or max_pending < workers:
            raise ValueError("hashing needs workers >= 1 and max_pending >= workers")
        self.hasher = hasher
        self._workers = workers
        self._max_pending = max_pending
        self._runner = runner or ThreadRunner(workers=workers, max_waiting=max_pending - workers,
                                              name="puente-hash", niceness=HASH_THREAD_NICENESS)
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> PasswordHashing:
        return cls(PasswordHasher(time_cost=auth.password_time_cost, memory_cost=auth.password_memory_kib),
                   workers=auth.hash_workers, max_pending=auth.hash_max_pending)

    def with_hasher(self, hasher: PasswordHasher) -> PasswordHashing:
        """The same pool with other argon2 parameters (tests use cheap ones)."""
        return PasswordHashing(hasher, workers=self._workers, max_pending=self._max_pending, runner=self._runner)

    @property
    def pending(self) -> int:
        return self._runner.pending

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
        self._runner.close()

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return await self._runner.run(fn, *args, timeout=_WAIT_SECONDS)
        except (RunnerBusy, RunnerTimeout):
            raise HashingBusy("password checks are busy") from None


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_length(password: str) -> None:
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"passwords have at most {MAX_PASSWORD_CHARS} characters")
