"""Flow versions in the database."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from ivr.db import Database, utcnow
from ivr.flowadmin.models import FlowVersionRow


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"  # was published, then replaced or rolled back


@dataclass(frozen=True, slots=True)
class FlowVersion:
    flow_name: str
    version: int
    document: str
    status: VersionStatus
    comment: str
    created_by: str
    created_at: datetime
    published_at: datetime | None
    published_by: str | None


class VersionNotFound(LookupError):
    pass


class FlowVersionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, flow_name: str, document: str, *, user: str, comment: str = "") -> FlowVersion:
        async with self._db.session() as s:
            latest = await s.scalar(
                select(func.max(FlowVersionRow.version)).where(FlowVersionRow.flow_name == flow_name)
            )
            row = FlowVersionRow(
                flow_name=flow_name, version=(latest or 0) + 1, document=document,
                status=VersionStatus.DRAFT.value, comment=comment, created_by=user, created_at=utcnow(),
            )
            s.add(row)
            await s.flush()
            return _version(row)

    async def get(self, flow_name: str, version: int) -> FlowVersion:
        async with self._db.session() as s:
            row = await s.scalar(select(FlowVersionRow).where(
                FlowVersionRow.flow_name == flow_name, FlowVersionRow.version == version))
            if row is None:
                raise VersionNotFound(f"flow {flow_name!r} has no version {version}")
            return _version(row)

    async def versions(self, flow_name: str) -> list[FlowVersion]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(FlowVersionRow).where(FlowVersionRow.flow_name == flow_name)
                                    .order_by(FlowVersionRow.version.desc()))).all()
            return [_version(r) for r in rows]

    async def published(self) -> list[FlowVersion]:
        """The published version of every flow that has one."""
        async with self._db.session() as s:
            rows = (await s.scalars(select(FlowVersionRow)
                                    .where(FlowVersionRow.status == VersionStatus.PUBLISHED.value))).all()
            return [_version(r) for r in rows]

    async def published_stamp(self) -> tuple[int, datetime | None]:
        """Cheap change detector for other processes: (count, latest publish time)."""
        async with self._db.session() as s:
            count, latest = (await s.execute(
                select(func.count(FlowVersionRow.id), func.max(FlowVersionRow.published_at))
                .where(FlowVersionRow.status == VersionStatus.PUBLISHED.value))).one()
            return int(count), latest

    async def publish(self, flow_name: str, version: int, *, user: str) -> FlowVersion:
        """Make ``version`` the one published version of the flow (in one transaction)."""
        async with self._db.session() as s:
            row = await s.scalar(select(FlowVersionRow).where(
                FlowVersionRow.flow_name == flow_name, FlowVersionRow.version == version).with_for_update())
            if row is None:
                raise VersionNotFound(f"flow {flow_name!r} has no version {version}")
            await s.execute(update(FlowVersionRow).where(
                FlowVersionRow.flow_name == flow_name,
                FlowVersionRow.status == VersionStatus.PUBLISHED.value,
                FlowVersionRow.version != version,
            ).values(status=VersionStatus.RETIRED.value))
            row.status = VersionStatus.PUBLISHED.value
            row.published_at = utcnow()
            row.published_by = user
            await s.flush()
            return _version(row)

    async def retire_published(self, flow_name: str) -> int:
        """Retire the flow's published version, so its shipped file serves again; how many rows."""
        async with self._db.session() as s:
            result = await s.execute(update(FlowVersionRow).where(
                FlowVersionRow.flow_name == flow_name,
                FlowVersionRow.status == VersionStatus.PUBLISHED.value,
            ).values(status=VersionStatus.RETIRED.value))
            return int(getattr(result, "rowcount", 0) or 0)

    async def latest(self, flow_name: str) -> FlowVersion | None:
        """The newest version (draft or not): what the editor compares with the flow in service."""
        async with self._db.session() as s:
            row = await s.scalar(select(FlowVersionRow).where(FlowVersionRow.flow_name == flow_name)
                                 .order_by(FlowVersionRow.version.desc()).limit(1))
            return _version(row) if row is not None else None

    async def previous_published(self, flow_name: str) -> FlowVersion | None:
        """The most recently retired version (what a rollback returns to)."""
        async with self._db.session() as s:
            row = await s.scalar(select(FlowVersionRow).where(
                FlowVersionRow.flow_name == flow_name, FlowVersionRow.status == VersionStatus.RETIRED.value,
            ).order_by(FlowVersionRow.published_at.desc(), FlowVersionRow.version.desc()).limit(1))
            return _version(row) if row is not None else None


def _version(row: FlowVersionRow) -> FlowVersion:
    return FlowVersion(
        flow_name=row.flow_name, version=row.version, document=row.document, status=VersionStatus(row.status),
        comment=row.comment, created_by=row.created_by, created_at=row.created_at,
        published_at=row.published_at, published_by=row.published_by,
    )
