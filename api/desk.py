"""The agent desk API: a live screen pop over Server-Sent Events, the agent's open work, wrap-ups.

``GET /api/v1/desk/events`` streams, for one agent, the ACD's ``AgentOffered``/``AgentConnected``
(with the caller's context and earlier contacts on any channel) and ``AgentStateChanged`` events.
``POST /api/v1/desk/wrapup`` stores the disposition and notes, audits them, and ends the agent's
wrap-up through the ACD. Agents act for their own ``agent_id``; supervisors and admins may pass one.
A wrap-up names a call that agent handled (the call record says who did); the open work lists only
that agent's callbacks and cases (:mod:`ivr.calls.scope`).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import AppContainer
from api.models import WrapUpRow
from api.readable import DEFAULT_DESK_LANGUAGE, FlowSource, desk_language, readable
from callbacks.values import Callback, CallbackState
from deflection.cases import CaseStatus
from deflection.history import HistoryPage
from deflection.tokens import scrub_tokens
from ivr.acd.types import AgentState, InvalidTransition, StateReason
from ivr.composition import Container
from ivr.db import Database
from ivr.events.types import AgentConnected, AgentOffered, AgentStateChanged, Event
from ivr.logs import mask_number
from ivr.web.auth import Audit, Role, StaffUser, User

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/desk", tags=["desk"])

HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser's EventSource reconnects: no connection outlives a
# server shutdown by more than this, and a forgotten tab costs nothing forever.
STREAM_SECONDS = 300.0
HISTORY_ITEMS = 10
MAX_MORE_TIME_SECONDS = 300.0  # one "more time" asks for at most this much


class WrapUpDisposition(enum.StrEnum):
    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    ESCALATED = "escalated"
    CALLBACK_PROMISED = "callback_promised"
    WRONG_NUMBER = "wrong_number"
    OTHER = "other"


class WrapUpIn(BaseModel):
    call_id: str = Field(min_length=1, max_length=128)
    disposition: WrapUpDisposition
    notes: str = Field(default="", max_length=4000)
    queue: str | None = Field(default=None, max_length=64)


class WrapUpOut(BaseModel):
    id: int
    at: datetime
    agent_id: str
    call_id: str
    queue: str | None
    disposition: WrapUpDisposition
    notes: str
    agent_state: str | None = None


class HistorySource(Protocol):
    async def for_number(self, number: str, *, limit: int = 50) -> HistoryPage: ...


class WrapUpStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: User, agent_id: str, body: WrapUpIn) -> WrapUpOut:
        async with self._db.session() as s:
            row = WrapUpRow(username=user.username, agent_id=agent_id, call_id=body.call_id, queue=body.queue,
                            disposition=body.disposition.value, notes=body.notes)
            s.add(row)
            await s.flush()
            return _out(row)

    async def recent(self, agent_id: str, limit: int = 20) -> list[WrapUpOut]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(WrapUpRow).where(WrapUpRow.agent_id == agent_id)
                                    .order_by(WrapUpRow.id.desc()).limit(limit))).all()
            return [_out(r) for r in rows]


def _out(row: WrapUpRow) -> WrapUpOut:
    return WrapUpOut(id=row.id, at=row.at, agent_id=row.agent_id, call_id=row.call_id, queue=row.queue,
                     disposition=WrapUpDisposition(row.disposition), notes=row.notes)


# --------------------------------------------------------------------------- dependencies


def desk_agent_id(user: StaffUser, agent_id: Annotated[str | None, Query(max_length=64)] = None) -> str:
    """Agents act for themselves; supervisors and admins for the agent they name (or their own)."""
    if user.role is Role.AGENT:
        if user.agent_id is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "this user has no agent_id")
        if agent_id is not None and agent_id != user.agent_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "agents may only use their own desk")
        return user.agent_id
    chosen = agent_id or user.agent_id
    if not chosen:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "agent_id is required")
    return chosen


AgentId = Annotated[str, Depends(desk_agent_id)]


# --------------------------------------------------------------------------- screen pop


async def screen_pop(event: AgentConnected | AgentOffered, history: HistorySource | None,
                     flows: FlowSource | None = None, language: str = DEFAULT_DESK_LANGUAGE) -> dict[str, Any]:
    """What the desk shows: the caller's context in words (:mod:`api.readable`, in the desk's
    ``language``) plus earlier contacts (empty when unavailable). ``at`` of an ``agent/connected``
    pop is when the agent answered."""
    context = readable(dict(event.context), flows, language)
    caller = str(context.get("caller") or "")
    earlier: list[dict[str, object]] = []
    history_available = history is not None
    if history is not None and caller:
        try:
            found = await history.for_number(caller, limit=HISTORY_ITEMS + 1)
            earlier = [i for i in found.get("items", []) if i.get("call_id") != event.call_id][:HISTORY_ITEMS]
        except Exception:  # the pop must still appear: show it without history, loudly in the logs
            history_available = False
            log.exception("customer history failed for the screen pop", extra={"caller": mask_number(caller)})
    return {
        "kind": event.kind, "agent_id": event.agent_id, "call_id": event.call_id, "queue": event.queue,
        "at": event.at.isoformat(), "context": context, "history": earlier, "history_available": history_available,
    }


def _accept_for(agent_id: str) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return isinstance(event, AgentConnected | AgentOffered | AgentStateChanged) and event.agent_id == agent_id

    return accept


def _sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


async def _stream(request: Request, container: Container, agent_id: str,
                  initial: dict[str, Any], language: str) -> AsyncIterator[str]:
    # Subscribed here, not in the endpoint: a stream that never starts then leaves no subscription
    # behind. ``hello`` is sent once subscribed, so a client seeing it will get every later event.
    sub = container.bus.subscribe(maxsize=100, accept=_accept_for(agent_id))
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    try:
        yield "retry: 2000\n\n"
        yield _sse("hello", initial)
        while loop.time() < ends:
            try:
                async with asyncio.timeout(min(HEARTBEAT_SECONDS, max(ends - loop.time(), 0.0))):
                    event = await sub.get()
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            if isinstance(event, AgentStateChanged):
                yield _sse("state", {"agent_id": agent_id, "state": event.state, "previous": event.previous,
                                     "reason": event.reason, "at": event.at.isoformat()})
            elif isinstance(event, AgentConnected | AgentOffered):
                yield _sse("pop", await screen_pop(event, container.deflection.history,
                                                   container.flowadmin.provider, language))
    finally:
        sub.close()


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}})
async def desk_events(request: Request, agent_id: AgentId, container: AppContainer) -> StreamingResponse:
    """The agent's live feed: ``pop`` (offered/connected call with context and history), ``state``.
    Steps and options are named in the desk's language: ``lang`` (es, en), else the agent's choice
    (the ``puente_lang`` cookie), else the browser's ``Accept-Language``."""
    acd = container.acd.service
    state = acd.agent(agent_id).state.value if agent_id in acd.router.agents else None
    language = desk_language(request)
    hello = {"agent_id": agent_id, "state": state, "language": language}
    return StreamingResponse(_stream(request, container, agent_id, hello, language),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --------------------------------------------------------------------------- open work and wrap-up


@router.get("/work")
async def open_work(agent_id: AgentId, container: AppContainer) -> dict[str, Any]:
    """The agent's state, open callbacks and cases (empty lists where a domain is not wired)."""
    out: dict[str, Any] = {"agent_id": agent_id, "agent": None, "callbacks": None, "cases": None}
    acd = container.acd.service
    if agent_id in acd.router.agents:
        view = acd.agent(agent_id)
        until = acd.wrap_up_until(agent_id)
        out["agent"] = {"agent_id": view.agent_id, "name": view.name, "state": view.state.value,
                        "since": view.state_since.isoformat(), "skills": dict(view.skills),
                        "wrap_up_until": until.isoformat() if until is not None else None}
    callbacks = container.callback_service
    if callbacks is not None:
        found: list[Callback] = []
        for state in (CallbackState.NEEDS_REVIEW, CallbackState.PENDING, CallbackState.SCHEDULED,
                      CallbackState.DIALING):
            found.extend(await callbacks.find(state=state, limit=20, handled_by=agent_id))
        out["callbacks"] = [cb.to_dict() for cb in found][:50]
    cases = container.deflection.cases
    mine = await cases.list(status=CaseStatus.OPEN, limit=20, handled_by=agent_id)
    replies = await cases.replies([c.id for c in mine])
    out["cases"] = [scrub_tokens({**c.to_dict(), "replies": [r.to_dict() for r in replies[c.id]]})
                    for c in mine]
    out["wrapups"] = [w.model_dump(mode="json") for w in await container.web.wrapups.recent(agent_id, limit=10)]
    return out


CALLBACK_CALL_PREFIX = "callback:"  # the desk's call id for a callback call (callbacks.ivr_handler)


async def _check_handled(container: Container, agent_id: str, call_id: str) -> None:
    """404 for a call nobody recorded, 403 for one another agent handled."""
    if call_id.startswith(CALLBACK_CALL_PREFIX):
        callbacks = container.callback_service
        callback_id = call_id.removeprefix(CALLBACK_CALL_PREFIX)
        if callbacks is None or not await callbacks.belongs_to(callback_id, agent_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"agent {agent_id} has no callback {callback_id} to wrap up")
        return
    record = await container.calls.store.get_call(call_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id}: a wrap-up needs a recorded call")
    if record.agent_id != agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"call {call_id} was not handled by agent {agent_id}")


class MoreTimeIn(BaseModel):
    seconds: float = Field(default=30.0, gt=0, le=MAX_MORE_TIME_SECONDS)


@router.post("/wrapup/more-time", responses={409: {"description": "not in a timed wrap-up"}})
async def more_time(body: MoreTimeIn, agent_id: AgentId, user: StaffUser, container: AppContainer,
                    audit: Audit) -> dict[str, Any]:
    """More time for the notes: the wrap-up ends ``seconds`` later (the agent is not offered a call)."""
    acd = container.acd.service
    if agent_id not in acd.router.agents:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id}")
    try:
        until = acd.extend_wrap_up(agent_id, body.seconds)
    except InvalidTransition:
        raise HTTPException(status.HTTP_409_CONFLICT, "the wrap-up has already ended (or has no end to move)") from None
    await audit.record(user, "desk.wrapup_more_time", agent_id, {"seconds": body.seconds})
    return {"agent_id": agent_id, "wrap_up_until": until.isoformat()}


@router.post("/wrapup", response_model=WrapUpOut, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "another agent handled the call"},
                        404: {"description": "no such call"}})
async def wrap_up(body: WrapUpIn, agent_id: AgentId, user: StaffUser, container: AppContainer,
                  audit: Audit) -> WrapUpOut:
    """Store the disposition and notes; an agent in wrap-up becomes available (the work is done)."""
    await _check_handled(container, agent_id, body.call_id)
    saved = await container.web.wrapups.add(user, agent_id, body)
    await audit.record(user, "desk.wrapup", body.call_id,
                       {"agent_id": agent_id, "disposition": body.disposition.value})
    acd = container.acd.service
    state: str | None = None
    if agent_id in acd.router.agents:
        if acd.agent(agent_id).state is AgentState.WRAP_UP:
            acd.set_agent_state(agent_id, AgentState.AVAILABLE, reason=StateReason.WRAP_UP_DONE)
        state = acd.agent(agent_id).state.value
    return saved.model_copy(update={"agent_state": state})
