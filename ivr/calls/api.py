"""Call records over HTTP: supervisors browse calls; staff see one call or a number's history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from ivr.calls.store import CallStore
from ivr.web.auth import StaffUser, SupervisorUser
from ivr.web.binding import unbound

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


def call_store() -> CallStore:
    """The call records: bound by :func:`ivr.calls.plugin.build`."""
    unbound("the call store")


Calls = Annotated[CallStore, Depends(call_store)]


@router.get("")
async def list_calls(
    _user: SupervisorUser,
    store: Calls,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    caller: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The latest calls, newest first (without their timelines)."""
    if since is not None and since.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since needs a UTC offset")
    records = await store.list_calls(limit=limit, caller=caller, since=since)
    return [_summary(r.to_dict()) for r in records]


@router.get("/by-number/{number}")
async def calls_for_number(
    number: str, _user: StaffUser, store: Calls, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    """A number's earlier calls (the agent's screen pop shows them)."""
    return [_summary(r.to_dict()) for r in await store.calls_for_number(number, limit)]


@router.get("/{call_id}")
async def get_call(call_id: str, _user: StaffUser, store: Calls) -> dict[str, Any]:
    """One call with its timeline."""
    record = await store.get_call(call_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    return record.to_dict()


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("events", None)
    return data
