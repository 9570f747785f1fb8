"""Agents see only their own work (derived from the call records) and never a live ``/c/<token>``
link; wrap-ups need a call the agent handled. Supervisors keep the whole picture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from api.app import create_app
from deflection.cases import CaseStore
from deflection.links import LinkPurpose, Stage
from deflection.service import DeflectionService
from deflection.tokens import new_token
from ivr.composition import Container, build_container
from ivr.context import ContextSnapshot
from ivr.db import Database, utcnow
from ivr.ports import CallbackRequest, CallbackSource, MessageChannel
from ivr.settings import Settings
from ivr.web.auth import Role
from tests.support.calls_rows import record_call
from tests.support.ui_users import add_users

USERS = {"ana": ("admin-pass-1", Role.ADMIN, None), "sam": ("super-pass-1", Role.SUPERVISOR, None),
         "alex": ("agent-pass-1", Role.AGENT, "agent1"), "bea": ("agent-pass-2", Role.AGENT, "agent2")}


@dataclass
class Env:
    container: Container
    client: httpx.AsyncClient
    auth: dict[str, dict[str, str]]
    token: str  # the live token of a case's link, which no agent may see


def _snapshot(call_id: str, number: str) -> ContextSnapshot:
    return ContextSnapshot(call_id=call_id, caller=number, dialled="900", language="es", flow="support",
                           path=("main_menu",), inputs=(), variables={}, queue="support")


@pytest.fixture
async def env(sqlite_db: Database) -> AsyncIterator[Env]:
    container = await build_container(Settings(), db=sqlite_db)
    tokens = await add_users(container.web.users, USERS)
    auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    await record_call(sqlite_db, "call-alex", agent_id="agent1", caller="+34600111221")
    await record_call(sqlite_db, "call-bea", agent_id="agent2", caller="+34600111222")
    callbacks = container.callback_service
    assert callbacks is not None
    for call_id, number in (("call-alex", "+34600111221"), ("call-bea", "+34600111222")):
        await callbacks.request(CallbackRequest(number=number, queue="support", source=CallbackSource.API,
                                                context=_snapshot(call_id, number)))
    cases: CaseStore = container.deflection.cases
    live = new_token()
    service: DeflectionService = container.deflection.service
    for call_id, number in (("call-alex", "+34600111221"), ("call-bea", "+34600111222")):
        await cases.create(link_id=f"lnk_{call_id}", submission="s1", number=number, call_id=call_id,
                           queue="support", description=f"see {service.url_for(live)}",
                           context={"call_id": call_id}, now=utcnow(), target_hours=24.0)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(container)),
                                     base_url="http://t") as client:
            yield Env(container, client, auth, live)
    finally:
        await container.aclose()


async def test_agents_list_only_their_own_callbacks_and_cases(env: Env) -> None:
    c = env.client
    mine = (await c.get("/api/v1/callbacks", headers=env.auth["alex"])).json()
    assert [cb["context"]["call_id"] for cb in mine] == ["call-alex"]
    assert len((await c.get("/api/v1/callbacks", headers=env.auth["sam"])).json()) == 2
    cases = await c.get("/api/v1/deflections/cases", headers=env.auth["alex"])
    assert [case["call_id"] for case in cases.json()] == ["call-alex"]
    assert env.token not in cases.text and f"/c/{env.token[:4]}…" in cases.text
    assert len((await c.get("/api/v1/deflections/cases", headers=env.auth["sam"])).json()) == 2
    work = await c.get("/api/v1/desk/work", headers=env.auth["bea"])
    assert [cb["context"]["call_id"] for cb in work.json()["callbacks"]] == ["call-bea"]
    assert [case["call_id"] for case in work.json()["cases"]] == ["call-bea"]
    assert env.token not in work.text
    # a supervisor looking at one agent's desk sees that agent's work
    theirs = (await c.get("/api/v1/desk/work", params={"agent_id": "agent1"}, headers=env.auth["sam"])).json()
    assert [case["call_id"] for case in theirs["cases"]] == ["call-alex"]


async def test_the_outbox_is_for_supervisors_and_masked(env: Env) -> None:
    assert (await env.client.get("/api/v1/deflections/outbox", headers=env.auth["alex"])).status_code == 403
    assert (await env.client.get("/api/v1/deflections/outbox", headers=env.auth["sam"])).status_code == 200


async def test_wrap_up_needs_a_call_the_agent_handled(env: Env) -> None:
    c = env.client
    body = {"disposition": "resolved", "notes": "ok"}
    made_up = await c.post("/api/v1/desk/wrapup", json={**body, "call_id": "no-such-call"}, headers=env.auth["alex"])
    assert made_up.status_code == 404 and "no call no-such-call" in made_up.json()["detail"]
    foreign = await c.post("/api/v1/desk/wrapup", json={**body, "call_id": "call-bea"}, headers=env.auth["alex"])
    assert foreign.status_code == 403 and "not handled by agent agent1" in foreign.json()["detail"]
    own = await c.post("/api/v1/desk/wrapup", json={**body, "call_id": "call-alex"}, headers=env.auth["alex"])
    assert own.status_code == 201
    # supervisors wrap up for an agent, with the same rule
    r = await c.post("/api/v1/desk/wrapup?agent_id=agent2", json={**body, "call_id": "call-alex"},
                     headers=env.auth["sam"])
    assert r.status_code == 403
    r = await c.post("/api/v1/desk/wrapup?agent_id=agent2", json={**body, "call_id": "call-bea"},
                     headers=env.auth["sam"])
    assert r.status_code == 201
    # a callback call: the agent must have dialled it
    cb = (await c.get("/api/v1/callbacks", headers=env.auth["alex"])).json()[0]["id"]
    r = await c.post("/api/v1/desk/wrapup", json={**body, "call_id": f"callback:{cb}"}, headers=env.auth["bea"])
    assert r.status_code == 404
    stored = [w["call_id"] for w in (await c.get("/api/v1/desk/work", headers=env.auth["alex"])).json()["wrapups"]]
    assert stored == ["call-alex"]


async def test_agents_see_only_links_from_their_calls(env: Env) -> None:
    service: DeflectionService = env.container.deflection.service
    link = await service.links.create(
        token=new_token(), purpose=LinkPurpose.DEFLECTION, number="+34600111222", call_id="call-bea",
        language="es", channel=MessageChannel.SMS, reason="queue_wait", queue="support", context={},
        consent_id=None, now=utcnow(), ttl=timedelta(hours=1), stages=(Stage.OFFERED,))
    c = env.client
    assert (await c.get(f"/api/v1/deflections/{link.id}", headers=env.auth["alex"])).status_code == 404
    assert (await c.get(f"/api/v1/deflections/{link.id}", headers=env.auth["bea"])).status_code == 200
    assert [x["id"] for x in (await c.get("/api/v1/deflections", headers=env.auth["alex"])).json()] == []
    assert [x["id"] for x in (await c.get("/api/v1/deflections", headers=env.auth["bea"])).json()] == [link.id]
    assert [x["id"] for x in (await c.get("/api/v1/deflections", headers=env.auth["sam"])).json()] == [link.id]
