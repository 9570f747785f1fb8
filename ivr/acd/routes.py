"""``/api/v1/queues`` and ``/api/v1/agents``: live queue status for supervisors, agent states."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

from ivr.acd.config import ConfigError, parse_agent, parse_queue
from ivr.acd.service import AcdService
from ivr.acd.status import queue_status
from ivr.acd.types import AgentState, AgentView, StateReason, UnknownAgent
from ivr.web.auth import AdminUser, Audit, Role, StaffUser
from ivr.web.binding import unbound

router = APIRouter(prefix="/api/v1", tags=["queues"])


def acd_service() -> AcdService:
    """This server's ACD service: bound by :func:`ivr.acd.plugin.build`."""
    unbound("the ACD service")


Acd = Annotated[AcdService, Depends(acd_service)]


class AgentOut(BaseModel):
    agent_id: str
    name: str
    endpoint: str
    skills: dict[str, int]
    state: AgentState
    state_since: str
    reason: str

    @classmethod
    def of(cls, a: AgentView) -> AgentOut:
        return cls(agent_id=a.agent_id, name=a.name, endpoint=a.endpoint, skills=dict(a.skills), state=a.state,
                   state_since=a.state_since.isoformat(), reason=a.reason.value)


class StateIn(BaseModel):
    state: AgentState


@router.get("/queues/status")
async def queues_status(_: StaffUser, acd: Acd,
                        hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0) -> dict[str, Any]:
    if acd.store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "queue store not configured")
    configured = {name: acd.queue_config(name) for name in acd.queue_names()}
    return await queue_status(acd.store, configured, hours=hours)


@router.get("/queues")
async def list_queues(_: StaffUser, acd: Acd) -> dict[str, Any]:
    return {name: acd.queue_config(name).to_dict() for name in acd.queue_names()}


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(_: StaffUser, acd: Acd) -> list[AgentOut]:
    return [AgentOut.of(a) for a in acd.agents()]


@router.put("/agents/{agent_id}/state", status_code=204)
async def set_state(agent_id: str, body: StateIn, user: StaffUser, acd: Acd, audit: Audit) -> None:
    if user.role is Role.AGENT and user.agent_id != agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only change their own state")
    if body.state not in {AgentState.AVAILABLE, AgentState.AWAY, AgentState.OFFLINE, AgentState.WRAP_UP}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "ringing and busy come from telephony")
    try:
        acd.set_agent_state(agent_id, body.state, reason=StateReason.ADMIN)
    except UnknownAgent:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id!r}") from None
    await audit.record(user, "agent.state", agent_id, {"state": body.state.value})


@router.put("/queues/{name}")
async def put_queue(name: str, body: dict[str, Any], user: AdminUser, acd: Acd, audit: Audit) -> dict[str, Any]:
    """Create or change a queue (same fields as ``dialplan/queues.yaml``, including the ``callback:``
    policy and ``deflection:`` settings); applies to new callers at once."""
    try:
        cfg = parse_queue(name, body)
        await acd.update_queue(cfg)
    except (ConfigError, ValueError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await audit.record(user, "queue.put", name, body)
    return cfg.to_dict()


@router.put("/agents/{agent_id}", response_model=AgentOut)
async def put_agent(agent_id: str, body: dict[str, Any], user: AdminUser, acd: Acd, audit: Audit) -> AgentOut:
    """Add an agent or change its name, endpoint and skills (its state is kept)."""
    try:
        cfg = parse_agent(agent_id, body)
    except (ConfigError, ValueError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await acd.upsert_agent(cfg)
    await audit.record(user, "agent.put", agent_id, body)
    return AgentOut.of(acd.agent(agent_id))
