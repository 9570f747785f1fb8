"""Links: creation, lookup by token (hashed), stage tracking, listing.

A link moves through stages (offered, accepted, sent, delivered, opened, continued, case, rating);
each reached stage keeps its first timestamp, so counts per stage are simple queries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from deflection.errors import LinkUnavailable
from deflection.models import ConsentRow, LinkRow
from deflection.tokens import hash_token, looks_like_token, new_link_id, new_reference
from ivr.calls.scope import handled_calls
from ivr.db import Database
from ivr.ports import Consent, MessageChannel


class Stage(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CONTINUED = "continued"
    CASE = "case"
    RATING = "rating"


STAGE_ORDER = list(Stage)
STAGE_COLUMN = {
    Stage.OFFERED: "offered_at", Stage.ACCEPTED: "accepted_at", Stage.SENT: "sent_at",
    Stage.DELIVERED: "delivered_at", Stage.OPENED: "opened_at", Stage.CONTINUED: "continued_at",
    Stage.CASE: "case_at", Stage.RATING: "rated_at",
}


class LinkPurpose(enum.StrEnum):
    DEFLECTION = "deflection"  # offered during the call: every action
    RATING = "rating"  # sent after a call with an agent: the rating form first


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: str
    reference: str
    purpose: LinkPurpose
    number: str
    call_id: str | None
    language: str
    channel: MessageChannel
    reason: str
    queue: str | None
    context: dict[str, Any]
    stage: Stage
    created_at: datetime
    expires_at: datetime
    stages: dict[str, datetime]
    callback_id: str | None = None
    callback_at: datetime | None = None
    consent_id: int | None = None

    def to_dict(self, *, with_context: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "reference": self.reference, "purpose": self.purpose.value, "number": self.number,
            "call_id": self.call_id, "language": self.language, "channel": self.channel.value,
            "reason": self.reason, "queue": self.queue, "stage": self.stage.value,
            "created_at": self.created_at.isoformat(), "expires_at": self.expires_at.isoformat(),
            "stages": {k: v.isoformat() for k, v in self.stages.items()},
            "callback_id": self.callback_id,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
        }
        if with_context:
            out["context"] = self.context
        return out


def _record(row: LinkRow) -> LinkRecord:
    stages = {s.value: ts for s in Stage if (ts := getattr(row, STAGE_COLUMN[s])) is not None}
    return LinkRecord(
        id=row.id, reference=row.reference, purpose=LinkPurpose(row.purpose), number=row.number,
        call_id=row.call_id, language=row.language, channel=MessageChannel(row.channel), reason=row.reason,
        queue=row.queue, context=dict(row.context), stage=Stage(row.stage), created_at=row.created_at,
        expires_at=row.expires_at, stages=stages, callback_id=row.callback_id, callback_at=row.callback_at,
        consent_id=row.consent_id,
    )


class LinkStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_consent(self, number: str, call_id: str | None, consent: Consent) -> int:
        async with self._db.session() as s:
            row = ConsentRow(number=number, call_id=call_id, method=consent.method.value, at=consent.at,
                             prompt_id=consent.prompt_id, prompt_version=consent.prompt_version)
            s.add(row)
            await s.flush()
            return row.id

    async def has_consent(self, number: str, call_id: str | None) -> bool:
        """Consent given in this call, or a standing consent (no call id) for the number."""
        async with self._db.session() as s:
            q = select(func.count()).select_from(ConsentRow).where(ConsentRow.number == number)
            if call_id is not None:
                q = q.where((ConsentRow.call_id == call_id) | ConsentRow.call_id.is_(None))
            else:
                q = q.where(ConsentRow.call_id.is_(None))
            return bool(await s.scalar(q))

    async def create(self, *, token: str, purpose: LinkPurpose, number: str, call_id: str | None, language: str,
                     channel: MessageChannel, reason: str, queue: str | None, context: dict[str, Any],
                     consent_id: int | None, now: datetime, ttl: timedelta, stages: tuple[Stage, ...]) -> LinkRecord:
        async with self._db.session() as s:
            for _ in range(5):  # a reference collision is rare (29^6); draw again if it happens
                reference = new_reference()
                if await s.scalar(select(LinkRow.id).where(LinkRow.reference == reference)) is None:
                    break
            row = LinkRow(
                id=new_link_id(), token_hash=hash_token(token), reference=reference, purpose=purpose.value,
                number=number, call_id=call_id, language=language, channel=channel.value, reason=reason,
                queue=queue, context=context, consent_id=consent_id, stage=stages[-1].value, created_at=now,
                expires_at=now + ttl,
            )
            for stage in stages:
                setattr(row, STAGE_COLUMN[stage], now)
            s.add(row)
            await s.flush()
            return _record(row)

    async def by_token(self, token: str, now: datetime) -> LinkRecord:
        """The live link for a token; unknown, malformed and expired all raise LinkUnavailable."""
        if not looks_like_token(token):
            raise LinkUnavailable("malformed token")
        async with self._db.session() as s:
            row = await s.scalar(select(LinkRow).where(LinkRow.token_hash == hash_token(token)))
            if row is None:
                raise LinkUnavailable("unknown token")
            if row.expires_at <= now:
                raise LinkUnavailable("expired", expired=True)
            return _record(row)

    async def get(self, link_id: str, *, handled_by: str | None = None) -> LinkRecord | None:
        """``handled_by``: None unless the link was sent from a call that agent handled."""
        async with self._db.session() as s:
            if handled_by is None:
                row = await s.get(LinkRow, link_id)
            else:
                row = await s.scalar(select(LinkRow).where(LinkRow.id == link_id,
                                                           LinkRow.call_id.in_(handled_calls(handled_by))))
            return _record(row) if row else None

    async def by_reference(self, reference: str) -> LinkRecord | None:
        async with self._db.session() as s:
            row = await s.scalar(select(LinkRow).where(LinkRow.reference == reference))
            return _record(row) if row else None

    async def reach(self, link_id: str, stage: Stage, now: datetime) -> bool:
        """Record ``stage``; True when it is reached for the first time (for counting once)."""
        column = STAGE_COLUMN[stage]
        async with self._db.session() as s:
            row = await s.get(LinkRow, link_id, with_for_update=not self._db.is_sqlite)
            if row is None:
                return False
            if getattr(row, column) is not None:
                return False
            setattr(row, column, now)
            if STAGE_ORDER.index(stage) > STAGE_ORDER.index(Stage(row.stage)):
                row.stage = stage.value
            return True

    async def rotate(self, link_id: str, token: str) -> None:
        async with self._db.session() as s:
            await s.execute(update(LinkRow).where(LinkRow.id == link_id).values(token_hash=hash_token(token)))

    async def mark_failed(self, link_id: str, now: datetime) -> None:
        async with self._db.session() as s:
            await s.execute(update(LinkRow).where(LinkRow.id == link_id).values(failed_at=now))

    async def set_channel(self, link_id: str, channel: MessageChannel) -> None:
        async with self._db.session() as s:
            await s.execute(update(LinkRow).where(LinkRow.id == link_id).values(channel=channel.value))

    async def set_callback(self, link_id: str, callback_id: str, at: datetime, *, keep_until: datetime) -> bool:
        """Attach the page's callback once; False when one was attached already (a replay). The link
        then lives at least until ``keep_until`` (the callback plus a margin: change, cancel, rate)."""
        async with self._db.session() as s:
            row = await s.get(LinkRow, link_id, with_for_update=not self._db.is_sqlite)
            if row is None or row.callback_id is not None:
                return False
            row.callback_id, row.callback_at = callback_id, at
            row.expires_at = max(row.expires_at, keep_until)
            return True

    async def move_callback(self, link_id: str, at: datetime, *, keep_until: datetime) -> None:
        """The booked callback moved to ``at``: the link lives at least until ``keep_until``."""
        async with self._db.session() as s:
            row = await s.get(LinkRow, link_id, with_for_update=not self._db.is_sqlite)
            if row is not None:
                row.callback_at = at
                row.expires_at = max(row.expires_at, keep_until)

    async def clear_callback(self, link_id: str, callback_id: str) -> None:
        """The booked callback was cancelled: the page may book another."""
        async with self._db.session() as s:
            await s.execute(update(LinkRow).where(LinkRow.id == link_id, LinkRow.callback_id == callback_id)
                            .values(callback_id=None, callback_at=None))

    async def list(self, *, limit: int = 50, number: str | None = None,
                   handled_by: str | None = None) -> list[LinkRecord]:
        """``handled_by``: only links sent from calls that agent handled."""
        async with self._db.session() as s:
            q = select(LinkRow).order_by(LinkRow.created_at.desc(), LinkRow.id).limit(limit)
            if handled_by is not None:
                q = q.where(LinkRow.call_id.in_(handled_calls(handled_by)))
            if number is not None:
                q = q.where(LinkRow.number == number)
            return [_record(r) for r in (await s.scalars(q)).all()]

    async def stage_counts(self) -> dict[str, int]:
        cols = [func.count(getattr(LinkRow, STAGE_COLUMN[s])) for s in Stage]
        async with self._db.session() as s:
            row = (await s.execute(select(*cols))).one()
        return {stage.value: int(n) for stage, n in zip(Stage, row, strict=True)}
