"""Schedules at run time: the rules document plus overrides, both read from the database.

- **Rules**: ``dialplan/schedules.yaml`` until someone publishes a document (API or
  ``ivr schedules publish``); then the highest published version is live. Publishing validates
  first; a rollback publishes an old document again as a new version (history is kept).
- **Overrides**: emergency closed / forced open per schedule, evaluated before everything else.

Both are read in one query round every ``cache_seconds`` (default 2 s), so a thousand calls asking
"are we open?" cost one round trip every two seconds, and a change made from the CLI (another
process) or the API takes effect in the running server within that time. Database trouble never
reaches the caller: the last known rules and overrides stay in force and the error is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from ivr.db import Database, utcnow
from ivr.schedules.errors import ScheduleError
from ivr.schedules.model import (
    Override,
    ScheduleBook,
    ScheduleState,
    ScheduleStatus,
    UnknownSchedule,
    evaluate,
)
from ivr.schedules.models import ScheduleOverrideRow, ScheduleVersionRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    version: int
    published_at: datetime
    published_by: str | None
    comment: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "published_at": self.published_at.isoformat(),
                "published_by": self.published_by, "comment": self.comment}


class ScheduleService:
    def __init__(
        self,
        book: ScheduleBook,
        db: Database,
        *,
        cache_seconds: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.book = book  # replaced when a newer published version is seen
        self._bad_version: int | None = None  # a published version that failed to parse (logged once)
        self._db = db
        self._ttl = cache_seconds
        self._clock = clock
        self._overrides: dict[str, Override] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    def names(self) -> list[str]:
        return self.book.names()

    async def status(self, name: str, at: datetime | None = None) -> ScheduleStatus:
        await self._refresh()
        schedule = self.book.get(name)
        return evaluate(schedule, at or self._clock(), self._overrides.get(name))

    def next_open(self, name: str, after: datetime) -> datetime | None:
        """The next opening at or after ``after`` (rules + the last override read from the DB)."""
        return self.book.next_open(name, after, self._overrides.get(name))

    async def changes(self, name: str, start: datetime, end: datetime) -> list[tuple[datetime, ScheduleStatus]]:
        """The status at ``start`` and every change until ``end`` (with the current override)."""
        await self._refresh()
        return self.book.changes(name, start, end, self._overrides.get(name))

    # ------------------------------------------------------------------ overrides
    async def get_override(self, name: str) -> Override | None:
        await self._refresh(force=True)
        self.book.get(name)
        return self._overrides.get(name)

    async def overrides(self) -> list[Override]:
        await self._refresh(force=True)
        return [self._overrides[k] for k in sorted(self._overrides)]

    async def set_override(
        self,
        name: str,
        state: ScheduleState | str,
        until: datetime | None = None,
        reason: str | None = None,
    ) -> Override:
        await self._refresh()
        self.book.get(name)
        state = ScheduleState(state)
        if state is ScheduleState.HOLIDAY:
            raise ValueError("an override is either open or closed")
        now = self._clock()
        if until is not None:
            if until.tzinfo is None:
                raise ValueError("the override end needs a timezone (e.g. 2026-12-24T18:00+01:00)")
            if until <= now:
                raise ValueError("the override end is in the past")
        row = ScheduleOverrideRow(schedule=name, state=state.value, until=until, reason=reason, set_at=now)
        async with self._db.session() as s:
            await s.execute(delete(ScheduleOverrideRow).where(ScheduleOverrideRow.schedule == name))
            s.add(row)
        log.warning("schedule override set", extra={"schedule": name, "state": state.value,
                                                    "until": until.isoformat() if until else None})
        await self._refresh(force=True)
        return _to_override(row)

    async def clear_override(self, name: str) -> bool:
        await self._refresh()
        self.book.get(name)
        async with self._db.session() as s:
            result = await s.execute(delete(ScheduleOverrideRow).where(ScheduleOverrideRow.schedule == name))
        removed = bool(getattr(result, "rowcount", 0))
        log.warning("schedule override cleared", extra={"schedule": name, "removed": removed})
        await self._refresh(force=True)
        return removed

    # ------------------------------------------------------------------ published documents
    async def document(self) -> tuple[int, str]:
        """(version, text) of the live rules; version 0 is the YAML file."""
        await self._refresh(force=True)
        return self.book.version, self.book.document or ""

    async def versions(self) -> list[ScheduleVersion]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(ScheduleVersionRow).order_by(ScheduleVersionRow.version.desc()))).all()
        return [ScheduleVersion(r.version, r.published_at, r.published_by, r.comment) for r in rows]

    async def publish(self, document: str, *, by: str | None = None, comment: str | None = None) -> int:
        """Validate and publish a whole schedules document; returns its version.

        Raises :class:`ScheduleError` (naming the schedule and the problem) when it is invalid, and
        when it drops a schedule that has an override in force."""
        candidate = ScheduleBook.from_text(document, "published document")
        await self._refresh(force=True)
        orphaned = sorted(set(self._overrides) - set(candidate.names()))
        if orphaned:
            raise ScheduleError(f"published document: schedules {', '.join(orphaned)} have overrides; clear them first")
        async with self._db.session() as s:
            latest = await s.scalar(select(func.max(ScheduleVersionRow.version)))
            version = (latest or 0) + 1
            s.add(ScheduleVersionRow(version=version, document=document, published_at=self._clock(),
                                     published_by=by, comment=(comment or "")[:255] or None))
        log.warning("schedules published", extra={"version": version, "by": by})
        await self._refresh(force=True)
        return version

    async def rollback(self, version: int, *, by: str | None = None) -> int:
        """Publish an earlier version's document again (as a new version)."""
        async with self._db.session() as s:
            row = await s.get(ScheduleVersionRow, version)
        if row is None:
            raise LookupError(f"no published schedules version {version}")
        return await self.publish(row.document, by=by, comment=f"rollback to version {version}")

    # ------------------------------------------------------------------ cache
    async def _refresh(self, *, force: bool = False) -> None:
        if not force and self._fresh():
            return
        async with self._lock:
            if not force and self._fresh():
                return  # another caller refreshed while we waited
            try:
                await self._load()
            except (SQLAlchemyError, OSError):
                # Fail open for the live caller: keep the last known state, shout in the logs.
                log.exception("cannot read schedule overrides; using the last known ones")
            self._loaded_at = time.monotonic()

    async def _load(self) -> None:
        async with self._db.session() as s:
            rows = (await s.scalars(select(ScheduleOverrideRow))).all()
            latest = await s.scalar(select(func.max(ScheduleVersionRow.version)))
            if latest is not None and latest not in (self.book.version, self._bad_version):
                row = await s.get(ScheduleVersionRow, latest)
                if row is not None:
                    self._swap_book(row)
        now = self._clock()
        self._overrides = {
            r.schedule: o for r in rows if (o := _to_override(r)).active(now) and r.schedule in self.book
        }

    def _swap_book(self, row: ScheduleVersionRow) -> None:
        try:
            self.book = ScheduleBook.from_text(row.document, f"published version {row.version}", version=row.version)
        except ScheduleError:
            self._bad_version = row.version
            # Published documents are validated first; a bad one can only come from outside.
            log.exception("published schedules are invalid; keeping the current ones",
                          extra={"version": row.version})

    def _fresh(self) -> bool:
        return self._loaded_at is not None and time.monotonic() - self._loaded_at < self._ttl


def _to_override(row: ScheduleOverrideRow) -> Override:
    return Override(
        schedule=row.schedule, state=ScheduleState(row.state), until=row.until, reason=row.reason, set_at=row.set_at
    )


__all__ = ["ScheduleService", "ScheduleVersion", "UnknownSchedule"]
