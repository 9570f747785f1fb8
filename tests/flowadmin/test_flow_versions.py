from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from api import plugin as api_plugin
from api.security import Role
from ivr.channels.scripted import ScriptedChannel, scripted_info
from ivr.composition import Container
from ivr.config import plugin as config_plugin
from ivr.db import Database
from ivr.flowadmin import plugin as flowadmin_plugin
from ivr.flows import plugin as flows_plugin
from ivr.observability import plugin as obs_plugin
from tests.support.app import app_for, make_container

MINI_V1 = """\
name: mini
numbers: ["700"]
languages: [es, en]
start: hello
nodes:
  hello: {kind: play, prompts: [greeting], next: bye}
  bye: {kind: hangup}
"""
MINI_V2 = MINI_V1.replace("prompts: [greeting]", "prompts: [goodbye]")
BROKEN = MINI_V1.replace("next: bye", "next: nowhere")


@dataclass
class Env:
    client: httpx.AsyncClient
    container: Container
    admin: dict[str, str]
    agent: dict[str, str]


@pytest.fixture
async def env(database: Database) -> AsyncIterator[Env]:
    container = await make_container(database, wires=[
        obs_plugin.wire, config_plugin.wire, flows_plugin.wire, flowadmin_plugin.wire, api_plugin.wire])
    users = container.services["users"]
    await users.add_user("ana", "admin-pass", Role.ADMIN)
    await users.add_user("alex", "agent-pass", Role.AGENT)
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {}
        for name, pw in (("ana", "admin-pass"), ("alex", "agent-pass")):
            r = await client.post("/api/v1/auth/login", json={"username": name, "password": pw})
            headers[name] = r.json()["token"]
        client.cookies.clear()
        yield Env(client, container, {"Authorization": f"Bearer {headers['ana']}"},
                  {"Authorization": f"Bearer {headers['alex']}"})


async def call(container: Container, dialled: str) -> list[str]:
    channel = ScriptedChannel(call_info=scripted_info(dialled=dialled, call_id=f"t-{dialled}"))
    await container.services["engine"].run(channel)
    return channel.played


async def test_draft_publish_rollback_and_new_calls_follow(env: Env) -> None:
    c = env.client
    r = await c.post("/api/v1/flows/mini/versions", json={"document": MINI_V1}, headers=env.admin)
    assert r.status_code == 201 and r.json()["problems"] == []
    assert (await c.post("/api/v1/flows/mini/versions/1/publish", headers=env.admin)).status_code == 200
    assert any("greeting" in p for p in await call(env.container, "700"))

    await c.post("/api/v1/flows/mini/versions", json={"document": MINI_V2}, headers=env.admin)
    diff = await c.get("/api/v1/flows/mini/diff", params={"from": 1, "to": 2}, headers=env.agent)
    assert "-  hello: {kind: play, prompts: [greeting], next: bye}" in diff.text
    assert "+  hello: {kind: play, prompts: [goodbye], next: bye}" in diff.text
    assert (await c.post("/api/v1/flows/mini/versions/2/publish", headers=env.admin)).status_code == 200
    played = await call(env.container, "700")
    assert any("goodbye" in p for p in played) and not any("greeting" in p for p in played)

    r = await c.post("/api/v1/flows/mini/rollback", headers=env.admin)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert any("greeting" in p for p in await call(env.container, "700"))
    versions = (await c.get("/api/v1/flows/mini/versions", headers=env.admin)).json()
    statuses = {v["version"]: v["status"] for v in versions}
    assert statuses == {1: "published", 2: "retired"}


async def test_invalid_versions_are_saved_as_drafts_but_never_published(env: Env) -> None:
    c = env.client
    r = await c.post("/api/v1/flows/mini/versions", json={"document": BROKEN}, headers=env.admin)
    problems = r.json()["problems"]
    assert r.status_code == 201
    assert any(p["node"] == "hello" and "nowhere" in p["message"] for p in problems)
    refused = await c.post("/api/v1/flows/mini/versions/1/publish", headers=env.admin)
    assert refused.status_code == 409
    with pytest.raises(LookupError):
        env.container.services["flows"].by_name("mini")


async def test_validate_uses_the_cli_checker(env: Env) -> None:
    r = await env.client.post("/api/v1/flows/validate", json={"document": "name: x\nnodes: []\n"}, headers=env.admin)
    assert r.status_code == 200 and len(r.json()) >= 1


async def test_agents_may_not_validate(env: Env) -> None:
    r = await env.client.post("/api/v1/flows/validate", json={"document": MINI_V1}, headers=env.agent)
    assert r.status_code == 403


async def test_roles_for_flow_routes(env: Env) -> None:
    c = env.client
    draft = {"document": MINI_V1}
    assert (await c.post("/api/v1/flows/mini/versions", json=draft)).status_code == 401
    assert (await c.post("/api/v1/flows/mini/versions", json=draft, headers=env.agent)).status_code == 403
    assert (await c.get("/api/v1/flows", headers=env.agent)).status_code == 200
    assert (await c.get("/api/v1/flows")).status_code == 401


async def test_graph_of_the_shipped_flow(env: Env) -> None:
    r = await env.client.get("/api/v1/flows/support/graph", headers=env.agent)
    graph = r.json()
    ids = {n["id"] for n in graph["nodes"]}
    assert "main_menu" in ids and any(n["start"] for n in graph["nodes"])
    assert all(e["from"] in ids and e["to"] in ids for e in graph["edges"])
