from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ivr.composition import Container
from ivr.db import Database
from ivr.settings import PROJECT_ROOT
from ivr.web.auth import Role
from tests.flows.test_yamlload import BOMB, SELF_ALIAS, chain_flow
from tests.support.app import app_for, make_container
from tests.support.scripted import ScriptedChannel, scripted_info

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
    container = await make_container(database)
    users = container.web.users
    await users.add_user("ana", "admin-pass", Role.ADMIN)
    await users.add_user("alex", "agent-pass", Role.AGENT)
    transport = httpx.ASGITransport(app=app_for(container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {}
            for name, pw in (("ana", "admin-pass"), ("alex", "agent-pass")):
                r = await client.post("/api/v1/auth/login", json={"username": name, "password": pw})
                headers[name] = r.json()["token"]
            client.cookies.clear()
            yield Env(client, container, {"Authorization": f"Bearer {headers['ana']}"},
                      {"Authorization": f"Bearer {headers['alex']}"})
    finally:
        for closer in reversed(container.closers):  # the flow checker's workers (the db is the fixture's)
            await closer()


async def call(container: Container, dialled: str) -> list[str]:
    channel = ScriptedChannel(call_info=scripted_info(dialled=dialled, call_id=f"t-{dialled}"))
    await container.flows.engine.run(channel)
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
        env.container.flowadmin.provider.by_name("mini")


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


# --------------------------------------------------------------------------- hostile documents
HOSTILE = {
    "bomb": (BOMB, "line 2: YAML aliases (*a) are not allowed in flows"),
    "self-alias": (SELF_ALIAS, "line 1: YAML aliases (*a) are not allowed in flows"),
    "deep": ("x: " + "[" * 200 + "]" * 200, "line 1: nested more than 24 levels deep"),
    "oversized": ("x: " + "a" * 300_000, "the flow is 300003 bytes; the limit is 262144 bytes"),
    "huge": (chain_flow(1_001), "the flow has 1001 nodes; the limit is 1000"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_documents_are_a_clear_422_never_a_500(env: Env, case: str) -> None:
    text, message = HOSTILE[case]
    c = env.client
    r = await c.post("/api/v1/flows/validate", json={"document": text}, headers=env.admin)
    assert r.status_code == 422 and r.json()["detail"]["problems"] == [message]
    r = await c.post("/api/v1/flows/mini/versions", json={"document": text}, headers=env.admin)
    assert r.status_code == 422 and r.json()["detail"]["problems"] == [message]
    assert (await c.get("/api/v1/flows/mini/versions", headers=env.admin)).json() == []  # nothing stored
    # the editor lists it like any other problem
    r = await c.post("/api/v1/ui/flows/inspect", json={"document": text}, headers=env.admin)
    assert r.status_code == 200 and [p["message"] for p in r.json()["problems"]] == [message]
    r = await c.post("/api/v1/ui/flows/edit-node", json={"document": text, "node": "x"}, headers=env.admin)
    assert r.status_code == 422 and r.json()["detail"] == message


async def test_agents_may_not_inspect_or_edit_in_the_editor(env: Env) -> None:
    c = env.client
    assert (await c.post("/api/v1/ui/flows/inspect", json={"document": MINI_V1}, headers=env.agent)).status_code == 403
    r = await c.post("/api/v1/ui/flows/edit-node", json={"document": MINI_V1, "node": "hello", "next": "bye"},
                     headers=env.agent)
    assert r.status_code == 403
    r = await c.post("/api/v1/ui/flows/edit-node", json={"document": MINI_V1, "node": "hello", "prompts": ["x"]},
                     headers=env.admin)
    assert r.status_code == 200 and "  hello: {kind: play, prompts: [x], next: bye}\n" in r.json()["document"]


# --------------------------------------------------------------------------- the set in service
SECOND_DEFAULT = MINI_V1.replace('numbers: ["700"]', "default: true")
SUPPORT_V2_MARK = "description: Customer support line (v2)"


def support_v2() -> str:
    text = (PROJECT_ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8")
    return text.replace("description: Customer support line (default flow)", SUPPORT_V2_MARK)


async def test_a_second_default_flow_is_refused_with_the_reason(env: Env) -> None:
    c = env.client
    await c.post("/api/v1/flows/mini/versions", json={"document": SECOND_DEFAULT}, headers=env.admin)
    r = await c.post("/api/v1/flows/mini/versions/1/publish", headers=env.admin)
    assert r.status_code == 409
    assert r.json()["detail"]["problems"] == [
        "mini@v1:-: 2 default flows ('mini', 'support'): exactly one flow may have default: true"]
    # ...and publishing still works: a valid support v2 takes effect at once
    r = await c.post("/api/v1/flows/support/versions", json={"document": support_v2()}, headers=env.admin)
    assert r.status_code == 201 and r.json()["problems"] == []
    assert (await c.post("/api/v1/flows/support/versions/1/publish", headers=env.admin)).status_code == 200
    provider = env.container.flowadmin.provider
    assert provider.by_name("support").description == "Customer support line (v2)"
    assert provider.published_versions == {"support": 1} and provider.problems == []


async def test_a_number_another_flow_answers_is_refused(env: Env) -> None:
    c = env.client
    await c.post("/api/v1/flows/mini/versions", json={"document": MINI_V1}, headers=env.admin)
    assert (await c.post("/api/v1/flows/mini/versions/1/publish", headers=env.admin)).status_code == 200
    other = MINI_V1.replace("name: mini", "name: other")
    await c.post("/api/v1/flows/other/versions", json={"document": other}, headers=env.admin)
    r = await c.post("/api/v1/flows/other/versions/1/publish", headers=env.admin)
    assert r.status_code == 409
    assert r.json()["detail"]["problems"] == ["other@v1:-: number 700 is claimed by flows 'mini' and 'other'"]


async def test_a_bad_set_in_the_database_never_sticks(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Another writer (or a race) put a second default flow in the database: the server keeps the
    flows in service, applies the other flows' valid changes, and says so once per change."""
    admin = env.container.flowadmin.service
    store, provider = admin.store, admin.provider
    await store.add("mini", SECOND_DEFAULT, user="ana")
    await store.publish("mini", 1, user="ana")  # past the service's checks
    await store.add("support", support_v2(), user="ana")
    await store.publish("support", 1, user="ana")
    await store.add("third", MINI_V1.replace("name: mini", "name: third").replace("700", "701"), user="ana")
    await store.publish("third", 1, user="ana")
    with caplog.at_level("ERROR", logger="ivr.flowadmin.provider"):
        for _ in range(3):
            await provider.refresh()
    assert provider.by_name("support").description == "Customer support line (v2)"
    assert provider.by_name("third").numbers == ["701"]
    with pytest.raises(LookupError):
        provider.by_name("mini")
    assert provider.current_for("999").name == "support"
    assert provider.problems == ["mini@v1 is not in service: 2 default flows ('mini', 'support'): "
                                 "exactly one flow may have default: true"]
    assert [getattr(r, "problem", None) for r in caplog.records] == provider.problems  # once, not at every refresh

    # a fixed version of the bad flow then takes effect
    await store.add("mini", MINI_V2, user="ana")
    await store.publish("mini", 2, user="ana")
    await provider.refresh()
    assert provider.by_name("mini").numbers == ["700"] and provider.problems == []


async def test_a_stored_version_that_does_not_parse_keeps_the_last_good_one(env: Env) -> None:
    admin = env.container.flowadmin.service
    store, provider = admin.store, admin.provider
    await store.add("mini", MINI_V1, user="ana")
    await store.publish("mini", 1, user="ana")
    await provider.refresh()
    await store.add("mini", BOMB, user="ana")
    await store.publish("mini", 2, user="ana")
    await provider.refresh()
    assert any("greeting" in p for p in await call(env.container, "700"))
    assert provider.problems == ["mini@v2 is not in service: line 2: YAML aliases (*a) are not allowed in flows"]
