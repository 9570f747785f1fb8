"""The UI's own API without a browser: pages and their guards, the desk (SSE, wrap-up), stats, the
flow editor's helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.desk import screen_pop
from api.security import Role
from api.ui.stats import hourly
from ivr.acd.types import AgentState
from ivr.composition import Container, build_container
from ivr.db import Database
from ivr.events.types import AgentConnected
from ivr.ports import Disposition
from ivr.settings import Settings
from tests.support.calls_rows import record_call
from tests.support.scripted import scripted_info
from tests.support.ui_server import serving
from tests.support.ui_users import add_users

USERS = {Role.ADMIN: ("ana", "admin-pass-1"), Role.SUPERVISOR: ("sam", "super-pass-1"),
         Role.AGENT: ("alex", "agent-pass-1")}


@dataclass
class Env:
    container: Container
    client: httpx.AsyncClient
    auth: dict[Role, dict[str, str]]


@asynccontextmanager
async def _env(db: Database) -> AsyncIterator[Env]:
    container = await build_container(Settings(), db=db)
    tokens = await add_users(container.services["users"], {
        name: (password, role, "agent1" if role is Role.AGENT else None) for role, (name, password) in USERS.items()})
    auth = {role: {"Authorization": f"Bearer {tokens[name]}"} for role, (name, _) in USERS.items()}
    transport = httpx.ASGITransport(app=create_app(container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Env(container, client, auth)
    finally:
        await container.aclose()


@pytest.fixture
async def env(sqlite_db: Database) -> AsyncIterator[Env]:
    async with _env(sqlite_db) as e:
        yield e


@pytest.fixture
async def store_env(database: Database) -> AsyncIterator[Env]:
    """For the tests that write through stores: SQLite and the real PostgreSQL."""
    async with _env(database) as e:
        yield e


async def test_pages_need_a_session_and_the_right_role(env: Env) -> None:
    c = env.client
    r = await c.get("/ui/wallboard")
    assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/wallboard"
    assert (await c.get("/ui/wallboard", headers=env.auth[Role.AGENT])).status_code == 403
    r = await c.get("/ui/desk", headers=env.auth[Role.AGENT])
    assert r.status_code == 200 and '<html lang="en">' in r.text and 'href="/ui/admin"' not in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    r = await c.get("/ui/admin/users", headers=env.auth[Role.ADMIN])
    assert r.status_code == 200 and 'href="/ui/admin"' in r.text and 'id="user-form"' in r.text
    assert (await c.get("/ui/admin/nothing", headers=env.auth[Role.ADMIN])).status_code == 404
    login = await c.get("/ui/login")
    assert login.status_code == 200 and 'for="username"' in login.text


async def test_static_files_are_a_fixed_list(env: Env) -> None:
    r = await env.client.get("/ui/static/desk.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for bad in ("/ui/static/..%2Froutes.py", "/ui/static/routes.py", "/ui/static/%2e%2e"):
        assert (await env.client.get(bad)).status_code == 404, bad


async def test_wrap_up_is_stored_audited_and_ends_the_wrap_up(store_env: Env) -> None:
    env = store_env
    acd = env.container.services["acd"]
    acd.set_agent_state("agent1", AgentState.WRAP_UP)
    await record_call(env.container.db, "call-9", agent_id="agent1")
    body = {"call_id": "call-9", "disposition": "follow_up", "notes": "send the invoice", "queue": "billing"}
    r = await env.client.post("/api/v1/desk/wrapup", json=body, headers=env.auth[Role.AGENT])
    assert r.status_code == 201, r.text
    assert r.json()["agent_state"] == "available" and acd.agent("agent1").state is AgentState.AVAILABLE
    work = (await env.client.get("/api/v1/desk/work", headers=env.auth[Role.AGENT])).json()
    assert work["wrapups"][0]["notes"] == "send the invoice" and work["agent"]["state"] == "available"
    assert work["callbacks"] == [] and work["cases"] == []
    entry = (await env.container.services["audit"].recent())[0]
    assert entry["action"] == "desk.wrapup" and entry["user"] == "alex" and entry["detail"]["agent_id"] == "agent1"
    # a supervisor must say which agent; an unknown disposition is refused
    r = await env.client.post("/api/v1/desk/wrapup", json=body, headers=env.auth[Role.SUPERVISOR])
    assert r.status_code == 422
    r = await env.client.post("/api/v1/desk/wrapup", json={**body, "disposition": "maybe"},
                              headers=env.auth[Role.AGENT])
    assert r.status_code == 422


class _History:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def for_number(self, number: str, *, limit: int = 50) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("database away")
        return {"number": number, "items": [{"kind": "call", "call_id": "now", "at": "x"},
                                            {"kind": "case", "call_id": None, "at": "y", "description": "bill"}]}


async def test_screen_pop_has_history_and_survives_its_failure() -> None:
    event = AgentConnected(agent_id="a1", call_id="now", queue="support", context={"caller": "+34600111222"})
    pop = await screen_pop(event, _History())
    assert [i["kind"] for i in pop["history"]] == ["case"]  # the current call is not "earlier"
    failed = await screen_pop(event, _History(fail=True))
    assert failed["history"] == [] and failed["history_available"] is False
    assert failed["context"]["caller"] == "+34600111222"
    assert (await screen_pop(event, None))["history_available"] is False


async def test_event_stream_delivers_state_and_pop_for_this_agent_only(env: Env) -> None:
    container = env.container
    async with (
        serving(create_app(container)) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
        client.stream("GET", "/api/v1/desk/events", headers=env.auth[Role.AGENT]) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.aiter_lines())
        hello = await asyncio.wait_for(anext(events), 10)
        assert hello == ("hello", {"agent_id": "agent1", "state": "offline"})
        container.bus.publish(AgentConnected(agent_id="agent2", call_id="other", queue="support", context={}))
        container.services["acd"].set_agent_state("agent1", AgentState.AVAILABLE)
        container.bus.publish(AgentConnected(agent_id="agent1", call_id="c1", queue="support",
                                             context={"caller": "+34600111222", "path": ["main_menu"]}))
        name, state = await asyncio.wait_for(anext(events), 10)
        assert name == "state" and state["state"] == "available"
        name, pop = await asyncio.wait_for(anext(events), 10)
        assert name == "pop" and pop["call_id"] == "c1" and pop["context"]["path"] == ["main_menu"]
        await events.aclose()


async def _events(lines: AsyncIterator[str]) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    name = ""
    async for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


async def test_stats_today_counts_calls_and_abandons_per_hour(store_env: Env) -> None:
    env = store_env
    store = env.container.services["call_store"]
    # "today" is the UTC day when the route runs: keep the calls and the request on the same day.
    now = datetime.now(UTC)
    to_midnight = (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - now).total_seconds()
    if to_midnight < 60:
        await asyncio.sleep(to_midnight + 1)
    for i, disposition in enumerate((Disposition.COMPLETED, Disposition.ABANDONED, Disposition.CONNECTED)):
        await store.call_started(scripted_info(call_id=f"s-{i}"), flow="support", language="es")
        await store.call_ended(f"s-{i}", disposition)
    assert (await env.client.get("/api/v1/stats/today", headers=env.auth[Role.AGENT])).status_code == 403
    r = await env.client.get("/api/v1/stats/today", headers=env.auth[Role.SUPERVISOR])
    stats = r.json()
    assert r.status_code == 200 and len(stats["series"]["calls"]) == 24
    assert stats["totals"]["calls"] == 3 and stats["totals"]["abandons"] == 1
    assert stats["totals"]["callbacks"] == 0 and stats["ratings"]["count"] == 0


def test_hourly_buckets() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    times = [datetime(2026, 11, 23, 0, 5, tzinfo=UTC), datetime(2026, 11, 23, 23, 59, tzinfo=UTC),
             datetime(2026, 11, 24, 0, 0, tzinfo=UTC), datetime(2026, 11, 22, 23, 0, tzinfo=UTC)]
    counts = hourly(times, start)
    assert counts[0] == 1 and counts[23] == 1 and sum(counts) == 2


async def test_flow_editor_helpers(env: Env) -> None:
    c, admin = env.client, env.auth[Role.ADMIN]
    doc = (await c.get("/api/v1/flows/support", headers=admin)).json()["document"]
    r = (await c.post("/api/v1/ui/flows/inspect", json={"document": doc}, headers=admin)).json()
    assert r["problems"] == [] and r["nodes"]["main_menu"]["kind"] == "menu"
    ids = {n["id"] for n in r["graph"]["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in r["graph"]["edges"])

    edited = await c.post("/api/v1/ui/flows/edit-node", headers=admin, json={
        "document": doc, "node": "main_menu", "options": {"1": "after_hours_menu"}})
    again = (await c.post("/api/v1/ui/flows/inspect", json=edited.json(), headers=admin)).json()
    assert again["nodes"]["main_menu"]["options"]["1"] == "after_hours_menu"
    broken = doc.replace("next: check_hours", "next: nowhere", 1)
    problems = (await c.post("/api/v1/ui/flows/inspect", json={"document": broken}, headers=admin)).json()["problems"]
    assert any(p["node"] == "greeting" and "nowhere" in p["message"] for p in problems)
    r = await c.post("/api/v1/ui/flows/edit-node", headers=admin, json={"document": doc, "node": "nope", "next": "x"})
    assert r.status_code == 404
