from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ivr.acd.service import AcdService
from ivr.acd.types import AgentState
from ivr.db import Database
from ivr.web.auth import Role
from tests.support.app import app_for, make_container


@dataclass
class Env:
    client: httpx.AsyncClient
    acd: AcdService
    tokens: dict[str, dict[str, str]]


@pytest.fixture
async def env(database: Database) -> AsyncIterator[Env]:
    container = await make_container(database)
    users = container.web.users
    await users.add_user("ana", "admin-pass", Role.ADMIN)
    await users.add_user("sam", "super-pass", Role.SUPERVISOR)
    await users.add_user("alex", "agent-pass", Role.AGENT, agent_id="agent1")
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        tokens = {}
        for name, pw in (("ana", "admin-pass"), ("sam", "super-pass"), ("alex", "agent-pass")):
            r = await client.post("/api/v1/auth/login", json={"username": name, "password": pw})
            tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}
        client.cookies.clear()
        yield Env(client, container.acd.service, tokens)


async def test_agent_sets_own_state_but_not_others(env: Env) -> None:
    c = env.client
    r = await c.put("/api/v1/agents/agent1/state", json={"state": "available"}, headers=env.tokens["alex"])
    assert r.status_code == 204
    assert env.acd.agent("agent1").state is AgentState.AVAILABLE
    r = await c.put("/api/v1/agents/agent2/state", json={"state": "available"}, headers=env.tokens["alex"])
    assert r.status_code == 403
    r = await c.put("/api/v1/agents/agent2/state", json={"state": "available"}, headers=env.tokens["sam"])
    assert r.status_code == 204
    r = await c.put("/api/v1/agents/agent2/state", json={"state": "busy"}, headers=env.tokens["sam"])
    assert r.status_code == 422
    r = await c.put("/api/v1/agents/nobody/state", json={"state": "away"}, headers=env.tokens["ana"])
    assert r.status_code == 404


async def test_agents_and_queue_status_for_staff(env: Env) -> None:
    agents = (await env.client.get("/api/v1/agents", headers=env.tokens["alex"])).json()
    assert {a["agent_id"] for a in agents} >= {"agent1", "agent2"}
    status = (await env.client.get("/api/v1/queues/status", headers=env.tokens["sam"])).json()
    assert set(status) >= {"billing", "support", "general"}
    assert status["billing"]["waiting"] == 0 and "service_level" in status["billing"]
    assert (await env.client.get("/api/v1/queues/status")).status_code == 401


async def test_admin_edits_a_queue_and_an_agent(env: Env) -> None:
    c = env.client
    body = {"skills": {"billing": 1}, "max_wait_seconds": 300, "overflow": "queue:general",
            "callback": {"sources": {"abandon": True}}}
    assert (await c.put("/api/v1/queues/vip", json=body, headers=env.tokens["sam"])).status_code == 403
    r = await c.put("/api/v1/queues/vip", json=body, headers=env.tokens["ana"])
    assert r.status_code == 200, r.text
    assert "vip" in env.acd.queue_names() and env.acd.queue_config("vip").max_wait_seconds == 300
    bad = await c.put("/api/v1/queues/vip", json={"overflow": "queue:nowhere"}, headers=env.tokens["ana"])
    assert bad.status_code == 422
    r = await c.put("/api/v1/agents/agent9", json={"name": "Nine", "endpoint": "PJSIP/1009",
                                                   "skills": {"billing": 2}}, headers=env.tokens["ana"])
    assert r.status_code == 200, r.text
    assert env.acd.agent("agent9").endpoint == "PJSIP/1009"
