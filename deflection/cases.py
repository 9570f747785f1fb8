"""Cases opened from the landing page: the description plus the call's full context.

Each case carries a response-time target (``respond_by``) that agents see. A replayed form (same
submission id) returns the case already created. Staff reply to a case (the text goes to the
customer through :mod:`deflection.replies`; each reply is kept with its message) and close it.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from deflection.models import CaseReplyRow, CaseRow, MessageRow
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
    closed_at: datetime | None = None
    closed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "link_id": self.link_id, "number": self.number, "call_id": self.call_id,
            "queue": self.queue, "description": self.description, "context": self.context,
            "status": self.status.value, "created_at": self.created_at.isoformat(),
            "respond_by": self.respond_by.isoformat(), "target_hours": self.target_hours,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None, "closed_by": self.closed_by,
        }


@dataclass(frozen=True, slots=True)
class CaseReply:
    id: int
    case_id: int
    at: datetime
    username: str
    text: str
    message_id: int | None
    # From the message: queued / sent / delivered / read / failed / deferred (None: never sent)
    status: str | None = None
    channel: str | None = None
    not_before: datetime | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "at": self.at.isoformat(), "username": self.username,
                "text": self.text, "status": self.status, "channel": self.channel,
                "not_before": self.not_before.isoformat() if self.not_before else None, "error": self.error}


def _record(r: CaseRow) -> CaseRecord:
    return CaseRecord(id=r.id, link_id=r.link_id, number=r.number, call_id=r.call_id, queue=r.queue,
                      description=r.description, context=dict(r.context), status=CaseStatus(r.status),
                      created_at=r.created_at, respond_by=r.respond_by, target_hours=r.target_hours,
                      closed_at=r.closed_at, closed_by=r.closed_by)


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

    async def get(self, case_id: int, *, handled_by: str | None = None) -> CaseRecord | None:
        """``handled_by``: None unless the case comes from a call that agent handled."""
        async with self._db.session() as s:
            q = select(CaseRow).where(CaseRow.id == case_id)
            if handled_by is not None:
                q = q.where(CaseRow.call_id.in_(handled_calls(handled_by)))
            row = await s.scalar(q)
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

    async def close(self, case_id: int, *, by: str, now: datetime) -> bool:
        """False when the case is not open (already closed, or no such case)."""
        async with self._db.session() as s:
            done = await s.execute(update(CaseRow).where(CaseRow.id == case_id, CaseRow.status == CaseStatus.OPEN.value)
                                   .values(status=CaseStatus.CLOSED.value, closed_at=now, closed_by=by))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    async def add_reply(self, case_id: int, *, username: str, text: str, at: datetime,
                        message_id: int | None) -> int:
        async with self._db.session() as s:
            row = CaseReplyRow(case_id=case_id, username=username, text=text, at=at, message_id=message_id)
            s.add(row)
            await s.flush()
            return row.id

    async def replies(self, case_ids: Sequence[int]) -> dict[int, builtins.list[CaseReply]]:
        """The replies of these cases, oldest first, with their messages' state."""
        if not case_ids:
            return {}
        async with self._db.session() as s:
            rows = (await s.execute(
                select(CaseReplyRow, MessageRow).outerjoin(MessageRow, MessageRow.id == CaseReplyRow.message_id)
                .where(CaseReplyRow.case_id.in_(case_ids)).order_by(CaseReplyRow.id))).all()
        out: dict[int, builtins.list[CaseReply]] = {i: [] for i in case_ids}
        for reply, message in rows:
            out[reply.case_id].append(CaseReply(
                id=reply.id, case_id=reply.case_id, at=reply.at, username=reply.username, text=reply.text,
                message_id=reply.message_id, status=message.status if message else None,
                channel=message.channel if message else None, not_before=message.not_before if message else None,
                error=message.error if message else None))
        return out
