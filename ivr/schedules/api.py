"""Schedules over HTTP: everyone on staff sees whether we are open; supervisors set overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field

from ivr.schedules.errors import ScheduleError, UnknownSchedule
from ivr.schedules.model import ScheduleState
from ivr.schedules.parse import schedule_to_dict
from ivr.schedules.service import ScheduleService
from ivr.web.auth import AdminUser, Audit, StaffUser, SupervisorUser
from ivr.web.binding import unbound

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])


def schedule_service() -> ScheduleService:
    """The opening hours, holidays and overrides: bound by :func:`ivr.config.plugin.build`."""
    unbound("the schedule service")


Schedules = Annotated[ScheduleService, Depends(schedule_service)]




class OverrideIn(BaseModel):
    state: Literal["open", "closed"]
    until: datetime | None = None
    reason: str | None = Field(default=None, max_length=255)


async def _status(service: ScheduleService, name: str, at: datetime | None = None) -> dict[str, Any]:
    try:
        status_ = await service.status(name, at)
        override = await service.get_override(name)
    except UnknownSchedule:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown schedule {name!r}") from None
    schedule = service.book.get(name)
    return {"schedule": name, "timezone": schedule.tz.key, "description": schedule.description,
            **status_.to_dict(), "override": override.to_dict() if override else None,
            "rules": schedule_to_dict(schedule)}


class DocumentIn(BaseModel):
    document: str = Field(min_length=1, max_length=200_000, description="the whole schedules YAML (or JSON)")
    comment: str | None = Field(default=None, max_length=255)


class DocumentOut(BaseModel):
    version: int  # 0: the shipped dialplan/schedules.yaml
    document: str


# Fixed paths first: "/definition" must not be taken for a schedule named "definition".
@router.get("/definition", response_model=DocumentOut)
async def get_definition(_user: StaffUser, service: Schedules) -> DocumentOut:
    """The live schedules document (hours, holidays, closures of every schedule)."""
    version, document = await service.document()
    return DocumentOut(version=version, document=document)


@router.put("/definition", response_model=DocumentOut)
async def publish_definition(body: DocumentIn, user: AdminUser, service: Schedules, audit: Audit) -> DocumentOut:
    """Validate and publish a new schedules document; new calls use it within seconds."""
    try:
        version = await service.publish(body.document, by=user.username, comment=body.comment)
    except ScheduleError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await audit.record(user, "schedules.publish", f"version {version}", {"comment": body.comment})
    return DocumentOut(version=version, document=body.document)


@router.get("/versions")
async def list_versions(_user: SupervisorUser, service: Schedules) -> list[dict[str, Any]]:
    return [v.to_dict() for v in await service.versions()]


@router.post("/versions/{version}/restore", response_model=DocumentOut)
async def restore_version(version: Annotated[int, Path(ge=0, le=2**31 - 1)], user: AdminUser, service: Schedules,
                          audit: Audit) -> DocumentOut:
    """Roll back: publish an earlier version's document again, as a new version."""
    try:
        new_version = await service.rollback(version, by=user.username)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}") from None
    except ScheduleError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await audit.record(user, "schedules.rollback", f"version {version}", {"new_version": new_version})
    _, document = await service.document()
    return DocumentOut(version=new_version, document=document)


@router.get("")
async def list_schedules(_user: StaffUser, service: Schedules) -> list[dict[str, Any]]:
    return [await _status(service, name) for name in service.names()]


@router.get("/{name}")
async def get_schedule(name: str, _user: StaffUser, service: Schedules, at: datetime | None = None) -> dict[str, Any]:
    """Open / closed / holiday now (or ``at``), the reason, and the next change."""
    if at is not None and at.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "at needs a UTC offset")
    return await _status(service, name, at)


@router.put("/{name}/override")
async def set_override(name: str, body: OverrideIn, user: SupervisorUser, service: Schedules,
                       audit: Audit) -> dict[str, Any]:
    """Emergency closure or forced opening, until ``until`` or until cleared."""
    try:
        await service.set_override(name, ScheduleState(body.state), until=body.until, reason=body.reason)
    except UnknownSchedule:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown schedule {name!r}") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await audit.record(user, "schedule.override", name, body.model_dump(mode="json"))
    return await _status(service, name)


@router.delete("/{name}/override")
async def clear_override(name: str, user: SupervisorUser, service: Schedules, audit: Audit) -> dict[str, Any]:
    try:
        removed = await service.clear_override(name)
    except UnknownSchedule:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown schedule {name!r}") from None
    if removed:
        await audit.record(user, "schedule.override.clear", name)
    return await _status(service, name)
