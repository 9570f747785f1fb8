"""Cases opened from the landing page: the description plus the call's full context.

Each case carries a response-time target (``respond_by``) that agents see. A replayed form (same
submission id) returns the case already created.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from deflection.models import CaseRow
from ivr.calls.scope import handled_calls
from ivr.db import Database


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    link_id: str
    number: str
    call_id: str | None
    queue: str | None
    description: str
    context: dict[str, Any]
    status: CaseStatus
    created_at: datetime
    respond_by: datetime
    target_hours: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "link_id": self.link_id, "number": self.number, "call_id": self.call_id,
            "queue": self.queue, "description": self.description, "context": self.context,
            "status": self.status.value, "created_at": self.created_at.isoformat(),
            "respond_by": self.respond_by.isoformat(), "target_hours": self.target_hours,
        }


def _record(r: CaseRow) -> CaseRecord:
    return CaseRecord(id=r.id, link_id=r.link_id, number=r.number, call_id=r.call_id, queue=r.queue,
                      description=r.description, context=dict(r.context), status=CaseStatus(r.status),
                      created_at=r.created_at, respond_by=r.respond_by, target_hours=r.target_hours)


class CaseStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, *, link_id: str, submission: str, number: str, call_id: str | None, queue: str | None,
                     description: str, context: dict[str, Any], now: datetime,
                     target_hours: float) -> tuple[CaseRecord, bool]:
        """(case, created): created is False for a replay of the same submission."""
        existing = await self._by_submission(link_id, submission)
        if existing is not None:
            return existing, False
        try:
            async with self._db.session() as s:
                row = CaseRow(link_id=link_id, submission=submission, number=number, call_id=call_id, queue=queue,
                              description=description, context=context, status=CaseStatus.OPEN.value,
                              created_at=now, respond_by=now + timedelta(hours=target_hours),
                              target_hours=target_hours)
                s.add(row)
                await s.flush()
                return _record(row), True
        except IntegrityError:
            # Two identical submissions raced: the other one won.
            again = await self._by_submission(link_id, submission)
            if again is None:
                raise
            return again, False

    async def _by_submission(self, link_id: str, submission: str) -> CaseRecord | None:
        async with self._db.session() as s:
            row = await s.scalar(select(CaseRow).where(CaseRow.link_id == link_id, CaseRow.submission == submission))
            return _record(row) if row else None

    async def get(self, case_id: int) -> CaseRecord | None:
        async with self._db.session() as s:
            row = await s.get(CaseRow, case_id)
            return _record(row) if row else None

    async def list(self, *, limit: int = 50, number: str | None = None, link_id: str | None = None,
                   status: CaseStatus | None = None, handled_by: str | None = None) -> list[CaseRecord]:
        """``handled_by``: only cases from calls that agent handled."""
        async with self._db.session() as s:
            q = select(CaseRow).order_by(CaseRow.respond_by, CaseRow.id).limit(limit)
            if handled_by is not None:
                q = q.where(CaseRow.call_id.in_(handled_calls(handled_by)))
            if number is not None:
                q = q.where(CaseRow.number == number)
            if link_id is not None:
                q = q.where(CaseRow.link_id == link_id)
            if status is not None:
                q = q.where(CaseRow.status == status.value)
            return [_record(r) for r in (await s.scalars(q)).all()]
