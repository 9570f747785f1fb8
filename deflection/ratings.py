"""Service ratings (1-5 and a comment), one per link: a replayed form keeps the first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from deflection.models import RatingRow
from ivr.db import Database

MAX_COMMENT = 2000


@dataclass(frozen=True, slots=True)
class RatingRecord:
    id: int
    link_id: str
    number: str
    call_id: str | None
    queue: str | None
    score: int
    comment: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "link_id": self.link_id, "number": self.number, "call_id": self.call_id,
                "queue": self.queue, "score": self.score, "comment": self.comment, "at": self.at.isoformat()}


def _record(r: RatingRow) -> RatingRecord:
    return RatingRecord(id=r.id, link_id=r.link_id, number=r.number, call_id=r.call_id, queue=r.queue,
                        score=r.score, comment=r.comment, at=r.at)


class RatingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, *, link_id: str, number: str, call_id: str | None, queue: str | None, score: int,
                  comment: str, now: datetime) -> tuple[RatingRecord, bool]:
        if not 1 <= score <= 5:
            raise ValueError("a rating is 1 to 5")
        existing = await self.for_link(link_id)
        if existing is not None:
            return existing, False
        try:
            async with self._db.session() as s:
                row = RatingRow(link_id=link_id, number=number, call_id=call_id, queue=queue, score=score,
                                comment=comment[:MAX_COMMENT], at=now)
                s.add(row)
                await s.flush()
                return _record(row), True
        except IntegrityError:
            again = await self.for_link(link_id)
            if again is None:
                raise
            return again, False

    async def for_link(self, link_id: str) -> RatingRecord | None:
        async with self._db.session() as s:
            row = await s.scalar(select(RatingRow).where(RatingRow.link_id == link_id))
            return _record(row) if row else None

    async def list(self, *, limit: int = 50, number: str | None = None) -> list[RatingRecord]:
        async with self._db.session() as s:
            q = select(RatingRow).order_by(RatingRow.at.desc()).limit(limit)
            if number is not None:
                q = q.where(RatingRow.number == number)
            return [_record(r) for r in (await s.scalars(q)).all()]
