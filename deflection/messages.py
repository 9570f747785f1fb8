"""Message records: every outbound message (the outbox included) and every inbound one."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from deflection.models import MessageRow
from deflection.providers.base import MessageStatus, TemplateMessage
from ivr.db import Database
from ivr.ports import MessageChannel


class Direction(enum.StrEnum):
    OUT = "out"
    IN = "in"


# A status callback never moves a message backwards (``sent`` arriving after ``delivered``).
_RANK = {MessageStatus.DEFERRED: 0, MessageStatus.QUEUED: 1, MessageStatus.SENT: 2, MessageStatus.DELIVERED: 3,
         MessageStatus.READ: 4, MessageStatus.FAILED: 5, MessageStatus.RECEIVED: 5}


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    direction: Direction
    channel: MessageChannel
    provider: str
    number: str
    link_id: str | None
    call_id: str | None
    body: str
    template: dict[str, Any] | None
    provider_message_id: str | None
    status: MessageStatus
    error: str | None
    not_before: datetime | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "direction": self.direction.value, "channel": self.channel.value,
            "provider": self.provider, "number": self.number, "link_id": self.link_id, "call_id": self.call_id,
            "body": self.body, "template": self.template, "provider_message_id": self.provider_message_id,
            "status": self.status.value, "error": self.error,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }


def _record(r: MessageRow) -> MessageRecord:
    return MessageRecord(
        id=r.id, direction=Direction(r.direction), channel=MessageChannel(r.channel), provider=r.provider,
        number=r.number, link_id=r.link_id, call_id=r.call_id, body=r.body, template=r.template,
        provider_message_id=r.provider_message_id, status=MessageStatus(r.status), error=r.error,
        not_before=r.not_before, created_at=r.created_at, updated_at=r.updated_at,
    )


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, *, direction: Direction, channel: MessageChannel, provider: str, number: str, body: str,
                  status: MessageStatus, now: datetime, link_id: str | None = None, call_id: str | None = None,
                  template: TemplateMessage | None = None, provider_message_id: str | None = None,
                  not_before: datetime | None = None) -> MessageRecord:
        async with self._db.session() as s:
            row = MessageRow(
                direction=direction.value, channel=channel.value, provider=provider, number=number, body=body,
                status=status.value, link_id=link_id, call_id=call_id,
                template=template.to_dict() if template else None, provider_message_id=provider_message_id,
                not_before=not_before, created_at=now, updated_at=now,
            )
            s.add(row)
            await s.flush()
            return _record(row)

    async def sent(self, message_id: int, provider_message_id: str, status: MessageStatus, now: datetime) -> None:
        async with self._db.session() as s:
            row = await s.get(MessageRow, message_id)
            if row is not None:
                row.provider_message_id = provider_message_id
                row.status = status.value
                row.updated_at = now

    async def rebody(self, message_id: int, body: str, template: TemplateMessage | None) -> None:
        """A deferred message gets its final text (with a fresh link) when it goes out."""
        async with self._db.session() as s:
            row = await s.get(MessageRow, message_id)
            if row is not None:
                row.body = body
                row.template = template.to_dict() if template else None

    async def failed(self, message_id: int, error: str, now: datetime) -> None:
        async with self._db.session() as s:
            row = await s.get(MessageRow, message_id)
            if row is not None:
                row.status = MessageStatus.FAILED.value
                row.error = error[:2000]
                row.updated_at = now

    async def apply_status(self, provider: str, provider_message_id: str, status: MessageStatus,
                           now: datetime, error: str | None = None) -> MessageRecord | None:
        """A provider's status callback; returns the (updated) message, None when unknown."""
        async with self._db.session() as s:
            row = await s.scalar(select(MessageRow).where(
                MessageRow.provider == provider, MessageRow.provider_message_id == provider_message_id))
            if row is None:
                return None
            if _RANK[status] > _RANK[MessageStatus(row.status)]:
                row.status = status.value
                row.updated_at = now
                if error:
                    row.error = error[:2000]
            return _record(row)

    async def due_deferred(self, now: datetime, limit: int = 50) -> list[MessageRecord]:
        async with self._db.session() as s:
            rows = (await s.scalars(
                select(MessageRow).where(MessageRow.status == MessageStatus.DEFERRED.value,
                                         MessageRow.not_before <= now)
                .order_by(MessageRow.not_before).limit(limit)
            )).all()
            return [_record(r) for r in rows]

    async def claim_deferred(self, message_id: int, now: datetime) -> bool:
        """Move one deferred message to queued; False if someone else took it first."""
        from sqlalchemy import update

        async with self._db.session() as s:
            result = await s.execute(
                update(MessageRow).where(MessageRow.id == message_id,
                                         MessageRow.status == MessageStatus.DEFERRED.value)
                .values(status=MessageStatus.QUEUED.value, updated_at=now)
            )
            return bool(getattr(result, "rowcount", 0))

    async def list(self, *, limit: int = 50, provider: str | None = None, number: str | None = None,
                   link_id: str | None = None) -> list[MessageRecord]:
        async with self._db.session() as s:
            q = select(MessageRow).order_by(MessageRow.created_at.desc(), MessageRow.id.desc()).limit(limit)
            if provider is not None:
                q = q.where(MessageRow.provider == provider)
            if number is not None:
                q = q.where(MessageRow.number == number)
            if link_id is not None:
                q = q.where(MessageRow.link_id == link_id)
            return [_record(r) for r in (await s.scalars(q)).all()]
