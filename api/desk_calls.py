"""The desk's controls of a live call: hold, resume, transfer to a queue (:mod:`ivr.callcontrol`).

``GET /api/v1/desk/call`` says which call the agent is on and what can be done with it (and, when
an action is impossible, why, in words for the agent); ``POST /api/v1/desk/calls/{call_id}/hold``,
``.../resume`` and ``.../transfer`` act. An agent may act only on the call they are on;
supervisors and admins on any call this node carries. Every action is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, Field

from api.security import Audit, Role, StaffUser, User
from ivr.acd.service import AcdService
from ivr.callcontrol import CallControls, ControlFailed, ControlUnavailable, LiveBridge, TransferTarget

router = APIRouter(prefix="/api/v1/desk", tags=["desk"])

CallId = Annotated[str, Path(min_length=1, max_length=128)]
NOT_ANSWERED: dict[int | str, dict[str, Any]] = {404: {"description": "no live call with that id on this node"},
                403: {"description": "an agent acting on another agent's call"},
                409: {"description": "not possible now (the reason is in detail)"},
                502: {"description": "the phone system refused or did not answer"}}


def _acd(request: Request) -> AcdService:
    acd = request.app.state.container.services.get("acd")
    if not isinstance(acd, AcdService):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the queues are not running on this server")
    return acd


Acd = Annotated[AcdService, Depends(_acd)]


def _bridge(controls: CallControls, user: User, call_id: str) -> LiveBridge:
    bridge = controls.get(call_id)
    if bridge is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"call {call_id} is not connected to an agent on this server (it may have ended)")
    if user.role is Role.AGENT and bridge.agent_id != user.agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only hold or transfer their own call")
    return bridge


class TransferIn(BaseModel):
    queue: str = Field(min_length=1, max_length=64)


@router.get("/call")
async def current_call(user: StaffUser, acd: Acd, agent_id: str | None = None) -> dict[str, Any]:
    """The live call of an agent (agents: their own) with what the desk may do to it, and the queues
    a transfer may go to. ``call`` is null when the agent is on no call this node carries."""
    if user.role is Role.AGENT:
        if agent_id is not None and agent_id != user.agent_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only use their own desk")
        agent_id = user.agent_id
    if not agent_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "agent_id is required")
    bridge = acd.controls.for_agent(agent_id)
    return {"agent_id": agent_id, "call": bridge.to_dict() if bridge is not None else None,
            "queues": acd.queue_names()}


async def _act(action: str, coro: Any) -> None:
    try:
        await coro
    except ControlUnavailable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"cannot {action} this call: {exc}") from None
    except ControlFailed as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"could not {action} the call: {exc}") from None


@router.post("/calls/{call_id}/hold", responses=NOT_ANSWERED)
async def hold(call_id: CallId, user: StaffUser, acd: Acd, audit: Audit) -> dict[str, Any]:
    """Music to the caller; the agent's leg is parked (silence) until resume."""
    bridge = _bridge(acd.controls, user, call_id)
    await _act("hold", acd.controls.hold(bridge, acd.clock()))
    await audit.record(user, "desk.call_hold", call_id, {"agent_id": bridge.agent_id})
    return bridge.to_dict()


@router.post("/calls/{call_id}/resume", responses=NOT_ANSWERED)
async def resume(call_id: CallId, user: StaffUser, acd: Acd, audit: Audit) -> dict[str, Any]:
    bridge = _bridge(acd.controls, user, call_id)
    await _act("resume", acd.controls.resume(bridge))
    await audit.record(user, "desk.call_resume", call_id, {"agent_id": bridge.agent_id})
    return bridge.to_dict()


@router.post("/calls/{call_id}/transfer", responses=NOT_ANSWERED)
async def transfer(call_id: CallId, body: TransferIn, user: StaffUser, acd: Acd, audit: Audit) -> dict[str, Any]:
    """Blind transfer to a queue: the agent's leg ends, the caller waits in ``queue`` as the same call
    (context and first arrival kept)."""
    bridge = _bridge(acd.controls, user, call_id)
    if body.queue not in acd.queue_names():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"there is no queue {body.queue!r}; choose one of {', '.join(acd.queue_names())}")
    await _act("transfer", acd.controls.transfer(bridge, TransferTarget(queue=body.queue, by=user.username)))
    await audit.record(user, "desk.call_transfer", call_id, {"agent_id": bridge.agent_id, "queue": body.queue})
    return bridge.to_dict()
