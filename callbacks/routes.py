"""``/api/v1/callbacks``: list, show, create, cancel, reschedule (staff roles only).

Agents see and change only their own callbacks: ones they dialled, or asked for on a call they
handled (:mod:`ivr.calls.scope`); any other id answers 404 to them, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from callbacks.errors import CallbackNotFound, InvalidNumber, InvalidTransition
from callbacks.models import CallbackState
from callbacks.schemas import CallbackCreate, CallbackOut, CallbackReschedule, TicketOut
from callbacks.service import CallbackService
from ivr.calls.scope import scope_of
from ivr.ports import CallbackRefused, CallbackSource
from ivr.web.auth import Role, StaffUser, User, require_roles
from ivr.web.binding import unbound

STAFF = Depends(require_roles(Role.SUPERVISOR, Role.AGENT))
router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"], dependencies=[STAFF])


def callback_service() -> CallbackService:
    """The callbacks' service: bound by :func:`callbacks.plugin.build` (these routes are mounted only
    when callbacks are on)."""
    unbound("the callback service")


Callbacks = Annotated[CallbackService, Depends(callback_service)]




async def _visible(service: CallbackService, user: User, callback_id: str) -> None:
    agent_id = scope_of(user).agent_id
    if agent_id is not None and not await service.belongs_to(callback_id, agent_id):
        raise CallbackNotFound(callback_id)


@router.get("", response_model=list[CallbackOut])
async def list_callbacks(service: Callbacks, user: StaffUser, state: CallbackState | None = None,
                         queue: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[CallbackOut]:
    found = await service.find(state=state, queue=queue, limit=limit, handled_by=scope_of(user).agent_id)
    return [CallbackOut.of(cb) for cb in found]


@router.get("/{callback_id}", response_model=CallbackOut)
async def show_callback(callback_id: str, service: Callbacks, user: StaffUser) -> CallbackOut:
    try:
        await _visible(service, user, callback_id)
        return CallbackOut.of(await service.get(callback_id), with_attempts=True)
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None


@router.post("", response_model=TicketOut, status_code=status.HTTP_201_CREATED)
async def create_callback(body: CallbackCreate, service: Callbacks) -> TicketOut:
    if body.source not in (CallbackSource.API, CallbackSource.AGENT):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "source must be api or agent")
    try:
        ticket = await service.create(body.number, body.queue, at=body.at, source=body.source,
                                      language=body.language)
    except InvalidNumber as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except CallbackRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"callback refused: {exc}") from None
    return TicketOut(callback_id=ticket.callback_id, scheduled_for=ticket.scheduled_for, merged=ticket.merged)


@router.post("/{callback_id}/cancel", response_model=CallbackOut)
async def cancel_callback(callback_id: str, service: Callbacks, user: StaffUser) -> CallbackOut:
    try:
        await _visible(service, user, callback_id)
        return CallbackOut.of(await service.cancel(callback_id))
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post("/{callback_id}/reschedule", response_model=CallbackOut)
async def reschedule_callback(callback_id: str, body: CallbackReschedule, service: Callbacks,
                              user: StaffUser) -> CallbackOut:
    try:
        await _visible(service, user, callback_id)
        return CallbackOut.of(await service.reschedule(callback_id, at=body.at))
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
