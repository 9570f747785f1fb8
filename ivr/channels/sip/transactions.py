"""SIP transaction timers over UDP (RFC 3261 §17), driven by one scheduler task.

One :class:`Retransmitter` holds every message that must be re-sent until something stops it:
final INVITE responses until the ACK (timers G/H), our INVITEs until a response (timers A/B),
our BYE/CANCEL until their response (timers E/F). A single loop owns all of them, so there is no
task per retransmission. :class:`ServerTransactions` remembers the last response of each server
transaction so request retransmissions are absorbed by re-sending it (timer J / I lifetime).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ivr.channels.sip.message import SipRequest, SipResponse

log = logging.getLogger("ivr.sip.transactions")

Address = tuple[str, int]
Send = Callable[[bytes, Address], bool]  # False: the socket refused it (that destination is unusable)


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 defaults are T1 0.5 s, T2 4 s; tests may scale them down."""

    t1: float = 0.5
    t2: float = 4.0

    @property
    def b(self) -> float:  # INVITE client / H: server waits for ACK / F: non-INVITE client
        return 64 * self.t1


@dataclass(slots=True)
class _Entry:
    data: bytes
    addr: Address
    next_at: float
    interval: float
    cap: float | None
    give_up_at: float
    on_give_up: Callable[[], None] | None


class Retransmitter:
    def __init__(self, send: Send, timers: Timers, tick: float = 0.02, *, max_evictable: int = 2000) -> None:
        self._send = send
        self._timers = timers
        self._tick = tick
        self._entries: dict[Hashable, _Entry] = {}
        # Entries anyone can cause (failure responses to INVITEs, repeated until their ACK): a
        # storm of bad INVITEs would otherwise grow the table, and the work of every tick, with
        # its rate × 64·T1. Past the cap the oldest stops repeating (its peer may ask again).
        self._evictable: dict[Hashable, None] = {}
        self._max_evictable = max_evictable

    def start(
        self,
        key: Hashable,
        data: bytes,
        addr: Address,
        *,
        cap: float | None,
        on_give_up: Callable[[], None] | None = None,
        evictable: bool = False,
    ) -> None:
        """Send now, then again after T1, 2·T1, ... (capped at ``cap``) until stopped or 64·T1.

        A send the socket refuses gives up at the next tick (its ``on_give_up`` runs from the
        scheduler, as for a timeout, never from inside the caller of ``start``). ``evictable``
        entries (no ``on_give_up``) are bounded in number, the oldest dropped first.
        """
        now = asyncio.get_running_loop().time()
        sent = self._send(data, addr)
        t1 = self._timers.t1
        give_up_at = now + self._timers.b if sent else now
        self._entries[key] = _Entry(data, addr, now + t1, t1, cap, give_up_at, on_give_up)
        if evictable:
            self._evictable.pop(key, None)
            self._evictable[key] = None
            while len(self._evictable) > self._max_evictable:
                oldest = next(iter(self._evictable))
                del self._evictable[oldest]
                self._entries.pop(oldest, None)

    def stop(self, key: Hashable) -> bool:
        self._evictable.pop(key, None)
        return self._entries.pop(key, None) is not None

    def active(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._tick)
            self.fire(loop.time())

    def fire(self, now: float) -> None:
        for key, entry in list(self._entries.items()):
            try:
                self._fire_one(key, entry, now)
            except Exception:  # one transaction's fault must not stop every other's timers
                log.exception("retransmission timer failed; that transaction is dropped", extra={"key": repr(key)})
                self.stop(key)

    def _fire_one(self, key: Hashable, entry: _Entry, now: float) -> None:
        if now >= entry.give_up_at:
            del self._entries[key]
            self._evictable.pop(key, None)
            if entry.on_give_up is not None:
                entry.on_give_up()
        elif now >= entry.next_at:
            if not self._send(entry.data, entry.addr):
                entry.give_up_at = now  # refused: give up at the next tick
                return
            entry.interval = entry.interval * 2 if entry.cap is None else min(entry.interval * 2, entry.cap)
            entry.next_at = now + entry.interval


@dataclass(slots=True)
class ServerTransaction:
    request: SipRequest
    addr: Address
    created_at: float
    response: SipResponse | None = None


class ServerTransactions:
    """Server transactions by (branch, method); ACK/CANCEL find their INVITE by branch."""

    def __init__(self, timers: Timers, *, max_entries: int = 20_000) -> None:
        self._timers = timers
        self._max_entries = max_entries
        # Insertion order is creation order: a request storm evicts the oldest transactions,
        # so memory stays bounded whatever the rate (an evicted one only loses retransmission
        # absorption; its call, if any, lives on in its leg).
        self._table: dict[tuple[str, str], ServerTransaction] = {}

    @staticmethod
    def key(request: SipRequest) -> tuple[str, str]:
        method = "INVITE" if request.method in ("ACK", "CANCEL") else request.method
        branch = request.branch or f"{request.call_id}|{request.cseq[0]}|{request.headers.get('From')}"
        return branch, method

    def find(self, request: SipRequest) -> ServerTransaction | None:
        return self._table.get(self.key(request))

    def create(self, request: SipRequest, addr: Address, now: float) -> ServerTransaction:
        tx = ServerTransaction(request, addr, now)
        key = self.key(request)
        self._table.pop(key, None)
        while len(self._table) >= self._max_entries:
            del self._table[next(iter(self._table))]
        self._table[key] = tx
        return tx

    def expire(self, now: float) -> None:
        # Long enough to absorb every retransmission of the request (64·T1), then forget it.
        # The table is in creation order: stop at the first one still young (a storm fills it
        # with thousands, and this runs every second on the loop that carries the calls).
        horizon = now - self._timers.b - 1.0
        expired = []
        for key, tx in self._table.items():
            if tx.created_at >= horizon:
                break
            expired.append(key)
        for key in expired:
            del self._table[key]

    def __len__(self) -> int:
        return len(self._table)
