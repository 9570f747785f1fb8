"""Login throttling per account and per client IP: a growing delay after each failure, then a lock.

After a failed login the key (an account or a client IP) must wait ``delay * 2**(n-1)`` seconds
(capped) before the next try, n counting the failures past ``free_failures`` (an address shared by
an office gets a few typos free); at ``max_failures`` it is locked for ``lock`` (doubling with
each further lock, capped). A throttled attempt is refused before any password is checked, so an
attack costs us no hashing. A success clears the account's record, not the IP's: otherwise one
valid account would let its owner reset the counter of the address they guess from.

The state lives in memory, in a map with a hard cap on its entries (least recently used are dropped
first, entries forgotten a while after their last block ends). Why not the database: the throttle
sits in front of every login, and an attacker sending random usernames would turn each guess into
a database write and grow a table; in memory it costs a dict lookup and stays bounded. The price:
each process keeps its own counts (N nodes give an attacker N times the budget before a lock, and a
restart clears the locks); the per-IP lock bounds what one address can try either way.
"""

from __future__ import annotations

import enum
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


class BlockKind(enum.StrEnum):
    DELAY = "delay"  # wait a little: the last attempt failed
    LOCKED = "locked"  # too many failures: locked for a while


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int
    free_failures: int
    delay_seconds: float
    max_delay_seconds: float
    lock_seconds: float
    max_lock_seconds: float
    forget_seconds: float
    max_entries: int


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    retry_after: float  # seconds

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failure did to a key: its count and, when it caused one, the lock."""

    failures: int
    locked_for: float | None = None


@dataclass(slots=True)
class _Entry:
    failures: int = 0
    locks: int = 0
    blocked_until: float = 0.0
    locked: bool = False


class FailureThrottle:
    def __init__(self, policy: ThrottlePolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def blocked(self, key: str) -> Block | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry.blocked_until:
            return None
        return Block(BlockKind.LOCKED if entry.locked else BlockKind.DELAY, entry.blocked_until - now)

    def failed(self, key: str) -> Failure:
        now = self._clock()
        entry = self._entry(key, now)
        p = self._policy
        entry.failures += 1
        count = entry.failures
        if count >= p.max_failures:
            entry.locks += 1
            lock = min(p.lock_seconds * 2 ** (entry.locks - 1), p.max_lock_seconds)
            entry.blocked_until, entry.locked, entry.failures = now + lock, True, 0
            return Failure(count, lock)
        past = count - p.free_failures
        entry.blocked_until = now + (min(p.delay_seconds * 2 ** (past - 1), p.max_delay_seconds) if past > 0 else 0.0)
        entry.locked = False
        return Failure(count)

    def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def _entry(self, key: str, now: float) -> _Entry:
        entry = self._entries.get(key)
        if entry is not None and self._stale(entry, now):
            entry = None
        if entry is None:
            if len(self._entries) >= self._policy.max_entries:
                self._make_room(now)
            entry = self._entries[key] = _Entry()
        self._entries.move_to_end(key)
        return entry

    def _stale(self, entry: _Entry, now: float) -> bool:
        return now >= entry.blocked_until + self._policy.forget_seconds

    def _make_room(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if self._stale(e, now)]:
            del self._entries[key]
        while len(self._entries) >= self._policy.max_entries:
            self._entries.popitem(last=False)  # least recently failed first
