"""``/api/v1/callbacks``: list, show, create, cancel, reschedule (staff roles only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from api.security import Role, require_roles
from callbacks.errors import CallbackNotFound, InvalidNumber, InvalidTransition
from callbacks.models import CallbackState
from callbacks.schemas import CallbackCreate, CallbackOut, CallbackReschedule, TicketOut
from callbacks.service import CallbackService
from ivr.ports import CallbackRefused, CallbackSource

STAFF = Depends(require_roles(Role.SUPERVISOR, Role.AGENT))
router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"], dependencies=[STAFF])


def callbacks_service(request: Request) -> CallbackService:
    service: CallbackService = request.app.state.container.services["callbacks"]
    return service


Service = Annotated[CallbackService, Depends(callbacks_service)]


@router.get("", response_model=list[CallbackOut])
async def list_callbacks(service: Service, state: CallbackState | None = None, queue: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[CallbackOut]:
    return [CallbackOut.of(cb) for cb in await service.find(state=state, queue=queue, limit=limit)]


@router.get("/{callback_id}", response_model=CallbackOut)
async def show_callback(callback_id: str, service: Service) -> CallbackOut:
    try:
        return CallbackOut.of(await service.get(callback_id), with_attempts=True)
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None


@router.post("", response_model=TicketOut, status_code=status.HTTP_201_CREATED)
async def create_callback(body: CallbackCreate, service: Service) -> TicketOut:
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
async def cancel_callback(callback_id: str, service: Service) -> CallbackOut:
    try:
        return CallbackOut.of(await service.cancel(callback_id))
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post("/{callback_id}/reschedule", response_model=CallbackOut)
async def reschedule_callback(callback_id: str, body: CallbackReschedule, service: Service) -> CallbackOut:
    try:
        return CallbackOut.of(await service.reschedule(callback_id, at=body.at))
    except CallbackNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id}") from None
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
