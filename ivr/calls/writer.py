"""Batched writes of call records: one transaction per flush, not one per event.

A call produces tens of events; a thousand concurrent calls would otherwise open thousands of
transactions per second. The writer buffers rows and flushes them every ``interval`` seconds (or
sooner when the buffer fills, or when a call ends and waits for its rows).

Database trouble never reaches the caller: a failed flush is logged loudly and kept for the next
try (the buffer is bounded; beyond it the oldest events are dropped and counted). Rows the database
rejects as invalid are retried one by one so one bad row cannot block the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from ivr.calls.models import CallEventRow, CallRow
from ivr.db import Database

log = logging.getLogger(__name__)

_ROW_ERRORS = (IntegrityError, DataError)  # the rows are bad; the database is fine


@dataclass
class _Batch:
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # inserts, by call id
    events: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # by call id

    def __bool__(self) -> bool:
        return bool(self.calls or self.events or self.updates)

    def size(self) -> int:
        return len(self.calls) + len(self.events) + len(self.updates)


class CallWriter:
    """Buffers call rows; :meth:`run` (a Component) flushes them in the background."""

    name = "call-recorder"

    def __init__(
        self, db: Database, *, interval: float = 0.25, batch_size: int = 500, max_pending_events: int = 100_000
    ) -> None:
        self._db = db
        self._interval = interval
        self._batch_size = batch_size
        self._max_events = max_pending_events
        self._pending = _Batch()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._waiters: list[asyncio.Future[None]] = []
        self._running = False
        self.flushes = 0  # transactions written (a figure for tests and metrics)
        self.failed_flushes = 0
        self.dropped_events = 0
        self.dropped_rows = 0

    # ------------------------------------------------------------------ buffering (sync, never blocks)
    def add_call(self, row: dict[str, Any]) -> None:
        self._pending.calls[row["call_id"]] = row
        self._nudge()

    def add_event(self, row: dict[str, Any]) -> None:
        events = self._pending.events
        events.append(row)
        if len(events) > self._max_events:
            overflow = len(events) - self._max_events
            del events[:overflow]
            self.dropped_events += overflow
            log.error("call event buffer full: dropped the oldest events", extra={"dropped": overflow})
        self._nudge()

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None:
        if call_id in self._pending.calls:
            self._pending.calls[call_id].update(fields)  # not written yet: fold into the insert
        else:
            self._pending.updates.setdefault(call_id, {}).update(fields)
        self._nudge()

    @property
    def pending(self) -> int:
        return self._pending.size()

    def _nudge(self) -> None:
        if self._pending.size() >= self._batch_size:
            self._wake.set()

    # ------------------------------------------------------------------ flushing
    async def sync(self, timeout: float = 5.0) -> bool:
        """Wait until everything buffered so far was tried; False on timeout (the rows stay queued).

        With the background writer running, the flush happens there (a caller's cancelled wait
        cannot lose a batch); otherwise inline."""
        if not self._running:
            await self.flush()
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            log.error("call records not written within %.1f s; they stay queued", timeout)
            return False
        return True

    async def flush(self) -> None:
        """Write what is buffered in one transaction. Never raises on database errors."""
        async with self._lock:
            waiters, self._waiters = self._waiters, []
            try:
                batch, self._pending = self._pending, _Batch()
                if batch:
                    await self._write_batch(batch)
            finally:
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)

    async def run(self, started: asyncio.Event) -> None:
        self._running = True
        started.set()
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # the interval elapsed: flush anyway
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
                await self.flush()
        finally:
            self._running = False
            # Shutting down: a last attempt so the final calls are not lost.
            await self.flush()

    async def _write_batch(self, batch: _Batch) -> None:
        try:
            async with self._db.session() as s:
                await _write(s, batch)
            self.flushes += 1
        except _ROW_ERRORS:
            log.exception("call records rejected by the database; retrying row by row")
            await self._write_rows(batch)
        except (SQLAlchemyError, OSError):
            self.failed_flushes += 1
            log.exception(
                "cannot write call records; keeping them for the next try",
                extra={"pending": batch.size(), "failed_flushes": self.failed_flushes},
            )
            self._restore(batch)

    async def _write_rows(self, batch: _Batch) -> None:
        singles: list[_Batch] = [_Batch(calls={k: v}) for k, v in batch.calls.items()]
        singles += [_Batch(events=[e]) for e in batch.events]
        singles += [_Batch(updates={k: v}) for k, v in batch.updates.items()]
        for index, single in enumerate(singles):
            try:
                async with self._db.session() as s:
                    await _write(s, single)
            except _ROW_ERRORS:
                self.dropped_rows += 1
                log.exception("dropped an invalid call record row")
            except (SQLAlchemyError, OSError):
                self.failed_flushes += 1
                log.exception("cannot write call records; keeping them for the next try")
                rest = _Batch()
                for later in singles[index:]:
                    rest.calls.update(later.calls)
                    rest.events.extend(later.events)
                    rest.updates.update(later.updates)
                self._restore(rest)
                return

    def _restore(self, batch: _Batch) -> None:
        newer = self._pending
        batch.calls.update(newer.calls)
        batch.events.extend(newer.events)
        for call_id, fields in newer.updates.items():
            if call_id in batch.calls:
                batch.calls[call_id].update(fields)
            else:
                batch.updates.setdefault(call_id, {}).update(fields)
        self._pending = batch
        if len(batch.events) > self._max_events:
            overflow = len(batch.events) - self._max_events
            del batch.events[:overflow]
            self.dropped_events += overflow
            log.error("call event buffer full: dropped the oldest events", extra={"dropped": overflow})


async def _write(session: Any, batch: _Batch) -> None:
    if batch.calls:
        await session.execute(insert(CallRow), list(batch.calls.values()))
    if batch.events:
        await session.execute(insert(CallEventRow), batch.events)
    for call_id, fields in batch.updates.items():
        await session.execute(update(CallRow).where(CallRow.call_id == call_id).values(**fields))
