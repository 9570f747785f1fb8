"""The desk's controls of a live call: hold, resume, transfer to a queue or an agent (:mod:`ivr.callcontrol`).

``GET /api/v1/desk/call`` says which call the agent is on and what can be done with it (and, when
an action is impossible, why, in words for the agent); ``POST /api/v1/desk/calls/{call_id}/hold``,
``.../resume`` and ``.../transfer`` act. An agent may act only on the call they are on;
supervisors and admins on any call this node carries. Every action is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from ivr.acd.routes import Acd
from ivr.acd.service import AcdService
from ivr.acd.types import AgentState
from ivr.callcontrol import CallControls, ControlFailed, ControlUnavailable, LiveBridge, TransferTarget
from ivr.web.auth import Audit, Role, StaffUser, User

router = APIRouter(prefix="/api/v1/desk", tags=["desk"])

CallId = Annotated[str, Path(min_length=1, max_length=128)]
NOT_ANSWERED: dict[int | str, dict[str, Any]] = {404: {"description": "no live call with that id on this node"},
                403: {"description": "an agent acting on another agent's call"},
                409: {"description": "not possible now (the reason is in detail)"},
                502: {"description": "the phone system refused or did not answer"}}


def _bridge(controls: CallControls, user: User, call_id: str) -> LiveBridge:
    bridge = controls.get(call_id)
    if bridge is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"call {call_id} is not connected to an agent on this server (it may have ended)")
    if user.role is Role.AGENT and bridge.agent_id != user.agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only hold or transfer their own call")
    return bridge


class TransferIn(BaseModel):
    """A queue, or an agent (rung at once; if they miss it the caller waits in the call's queue)."""

    queue: str | None = Field(default=None, min_length=1, max_length=64)
    agent_id: str | None = Field(default=None, min_length=1, max_length=64)


def _target(acd: AcdService, bridge: LiveBridge, body: TransferIn, user: User) -> TransferTarget:
    if (body.queue is None) == (body.agent_id is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "choose a queue or an agent to transfer to")
    if body.queue is not None:
        if body.queue not in acd.queue_names():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"there is no queue {body.queue!r}; choose one of {', '.join(acd.queue_names())}")
        return TransferTarget(queue=body.queue, by=user.username)
    agent_id = body.agent_id
    assert agent_id is not None
    if agent_id not in acd.router.agents:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"there is no agent {agent_id!r}")
    if agent_id == bridge.agent_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "that is the agent already on the call")
    if acd.link is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "cannot transfer to a named agent with several nodes: "
                            "transfer to a queue that agent serves")
    state = acd.agent(agent_id).state
    if state is not AgentState.AVAILABLE:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"agent {agent_id} is {state.value.replace('_', ' ')}, not available: choose another "
                            "agent or a queue")
    return TransferTarget(queue=bridge.queue, by=user.username, agent_id=agent_id)


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
    others = sorted((a for a in acd.agents() if a.agent_id != agent_id),
                    key=lambda a: (a.state is not AgentState.AVAILABLE, a.name))
    return {"agent_id": agent_id, "call": bridge.to_dict() if bridge is not None else None,
            "queues": acd.queue_names(),
            "agents": [{"agent_id": a.agent_id, "name": a.name, "state": a.state.value} for a in others]}


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
    """Blind transfer: the agent's leg ends, the caller waits in ``queue`` (or for ``agent_id`` alone,
    rung at once) as the same call (context and first arrival kept)."""
    bridge = _bridge(acd.controls, user, call_id)
    target = _target(acd, bridge, body, user)
    await _act("transfer", acd.controls.transfer(bridge, target))
    await audit.record(user, "desk.call_transfer", call_id, {"agent_id": bridge.agent_id, "queue": target.queue,
                                                            "to_agent": target.agent_id})
    return bridge.to_dict()
