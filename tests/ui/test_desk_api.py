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
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from api.desk import screen_pop
from api.ui.stats import LocalDay, hourly
from deflection.history import HistoryPage
from ivr.acd.types import AgentState
from ivr.composition import Container, build_container
from ivr.db import Database
from ivr.events.types import AgentConnected
from ivr.ports import Disposition
from ivr.settings import Settings
from ivr.web.auth import Role
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
    tokens = await add_users(container.web.users, {
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


async def test_ui_errors_are_pages_and_the_api_keeps_json(env: Env) -> None:
    c = env.client
    r = await c.get("/ui/no-such-page", headers=env.auth[Role.SUPERVISOR])
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text and 'href="/ui/wallboard"' in r.text  # the signed-in user's navigation
    assert "script-src 'self'" in r.headers["content-security-policy"]
    r = await c.get("/ui/no-such-page")
    assert r.status_code == 404 and "Page not found" in r.text and 'href="/ui/login"' in r.text
    r = await c.get("/ui/wallboard", headers=env.auth[Role.AGENT])
    assert r.status_code == 403 and "Not allowed" in r.text and "<html" in r.text
    r = await c.get("/api/v1/no-such-thing", headers=env.auth[Role.SUPERVISOR])
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


async def test_server_errors_are_a_page_under_ui_and_json_elsewhere(sqlite_db: Database) -> None:
    container = await build_container(Settings(), db=sqlite_db)
    app = create_app(container)

    async def boom() -> None:
        raise RuntimeError("a fault in a page")

    app.add_api_route("/ui/boom", boom)
    app.add_api_route("/api/v1/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/ui/boom")
            assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
            assert "Server error" in r.text and "a fault in a page" not in r.text  # no internals shown
            r = await c.get("/api/v1/boom")
            assert r.status_code == 500 and r.json() == {"detail": "internal server error"}
    finally:
        await container.aclose()


async def test_favicon_and_site_timezone_on_every_page(env: Env) -> None:
    r = await env.client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml" and b"<svg" in r.content
    page = await env.client.get("/ui/login")
    assert '<meta name="puente-timezone" content="Europe/Madrid">' in page.text
    assert 'rel="icon" href="/ui/static/favicon.svg"' in page.text
    assert (await env.client.get("/ui/static/favicon.svg")).status_code == 200


def test_an_unknown_timezone_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="not an IANA zone name"):
        Settings(timezone="Mars/Olympus")


async def test_static_files_are_a_fixed_list(env: Env) -> None:
    r = await env.client.get("/ui/static/desk.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for bad in ("/ui/static/..%2Froutes.py", "/ui/static/routes.py", "/ui/static/%2e%2e"):
        assert (await env.client.get(bad)).status_code == 404, bad


async def test_wrap_up_is_stored_audited_and_ends_the_wrap_up(store_env: Env) -> None:
    env = store_env
    acd = env.container.acd.service
    acd.set_agent_state("agent1", AgentState.WRAP_UP)
    await record_call(env.container.db, "call-9", agent_id="agent1")
    body = {"call_id": "call-9", "disposition": "follow_up", "notes": "send the invoice", "queue": "billing"}
    r = await env.client.post("/api/v1/desk/wrapup", json=body, headers=env.auth[Role.AGENT])
    assert r.status_code == 201, r.text
    assert r.json()["agent_state"] == "available" and acd.agent("agent1").state is AgentState.AVAILABLE
    work = (await env.client.get("/api/v1/desk/work", headers=env.auth[Role.AGENT])).json()
    assert work["wrapups"][0]["notes"] == "send the invoice" and work["agent"]["state"] == "available"
    assert work["callbacks"] == [] and work["cases"] == []
    entry = (await env.container.web.audit.recent())[0]
    assert entry["action"] == "desk.wrapup" and entry["user"] == "alex" and entry["detail"]["agent_id"] == "agent1"
    # a supervisor must say which agent; an unknown disposition is refused
    r = await env.client.post("/api/v1/desk/wrapup", json=body, headers=env.auth[Role.SUPERVISOR])
    assert r.status_code == 422
    r = await env.client.post("/api/v1/desk/wrapup", json={**body, "disposition": "maybe"},
                              headers=env.auth[Role.AGENT])
    assert r.status_code == 422


async def test_more_time_moves_a_timed_wrap_up_and_is_audited(env: Env) -> None:
    acd = env.container.acd.service
    agent = env.auth[Role.AGENT]
    r = await env.client.post("/api/v1/desk/wrapup/more-time", json={"seconds": 30}, headers=agent)
    assert r.status_code == 409  # not in wrap-up: nothing to move
    acd.set_agent_state("agent1", AgentState.AVAILABLE)
    acd.router.agents["agent1"].contact = "entry-1"  # an answered contact that now ends (as the hold loop does)
    acd.contact_ended("agent1", "support", talk_seconds=10.0)
    before = acd.wrap_up_until("agent1")
    assert before is not None
    work = (await env.client.get("/api/v1/desk/work", headers=agent)).json()
    assert work["agent"]["state"] == "wrap_up" and work["agent"]["wrap_up_until"] == before.isoformat()
    r = await env.client.post("/api/v1/desk/wrapup/more-time", json={"seconds": 30}, headers=agent)
    assert r.status_code == 200 and acd.wrap_up_until("agent1") == before + timedelta(seconds=30)
    assert r.json()["wrap_up_until"] == (before + timedelta(seconds=30)).isoformat()
    assert (await env.container.web.audit.recent())[0]["action"] == "desk.wrapup_more_time"
    r = await env.client.post("/api/v1/desk/wrapup/more-time", json={"seconds": 3600}, headers=agent)
    assert r.status_code == 422  # one click asks for at most 5 minutes


class _History:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def for_number(self, number: str, *, limit: int = 50) -> HistoryPage:
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
        client.stream("GET", "/api/v1/desk/events",
                      headers={**env.auth[Role.AGENT], "Accept-Language": "es-ES,es;q=0.9,en;q=0.8"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.aiter_lines())
        hello = await asyncio.wait_for(anext(events), 10)
        assert hello == ("hello", {"agent_id": "agent1", "state": "offline", "language": "es"})  # the browser's
        container.bus.publish(AgentConnected(agent_id="agent2", call_id="other", queue="support", context={}))
        container.acd.service.set_agent_state("agent1", AgentState.AVAILABLE)
        container.bus.publish(AgentConnected(agent_id="agent1", call_id="c1", queue="support",
                                             context={"caller": "+34600111222", "path": ["main_menu"],
                                                      "flow": "support"}))
        name, state = await asyncio.wait_for(anext(events), 10)
        assert name == "state" and state["state"] == "available"
        name, pop = await asyncio.wait_for(anext(events), 10)
        assert name == "pop" and pop["call_id"] == "c1" and pop["context"]["path"] == ["main_menu"]
        assert pop["context"]["steps"] == ["Menú principal"]  # the flow's label in the agent's language
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
    store = env.container.calls.store
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


def test_hourly_buckets_follow_the_site_day() -> None:
    day = LocalDay.around(datetime(2026, 11, 23, 12, tzinfo=UTC), ZoneInfo("Europe/Madrid"))
    assert day.start == datetime(2026, 11, 22, 23, tzinfo=UTC) and day.end == datetime(2026, 11, 23, 23, tzinfo=UTC)
    times = [datetime(2026, 11, 22, 23, 5, tzinfo=UTC),  # 00:05 in Madrid: hour 0
             datetime(2026, 11, 23, 8, 30, tzinfo=UTC),  # 09:30 in Madrid
             datetime(2026, 11, 23, 22, 59, tzinfo=UTC),  # 23:59 in Madrid
             datetime(2026, 11, 23, 23, 0, tzinfo=UTC),  # the next Madrid day
             datetime(2026, 11, 22, 22, 59, tzinfo=UTC)]  # the Madrid day before
    counts = hourly(times, day)
    assert counts[0] == 1 and counts[9] == 1 and counts[23] == 1 and sum(counts) == 3


def test_hourly_buckets_on_the_day_clocks_go_back() -> None:
    day = LocalDay.around(datetime(2026, 10, 25, 12, tzinfo=UTC), ZoneInfo("Europe/Madrid"))
    assert (day.end - day.start).total_seconds() == 25 * 3600
    # 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) are both the local hour 02
    counts = hourly([datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)], day)
    assert counts[2] == 2 and sum(counts) == 2


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


async def test_admins_change_users_with_clear_refusals(env: Env) -> None:
    c, admin = env.client, env.auth[Role.ADMIN]
    r = await c.patch("/api/v1/users/alex", json={"agent_id": "agent9"}, headers=admin)
    assert r.status_code == 422 and "there is no agent 'agent9'" in r.json()["detail"]
    assert (await c.patch("/api/v1/users/nobody", json={"active": False}, headers=admin)).status_code == 404
    assert (await c.patch("/api/v1/users/ana", json={"active": False}, headers=admin)).status_code == 409
    assert (await c.patch("/api/v1/users/ana", json={"role": "agent"}, headers=admin)).status_code == 409
    r = await c.patch("/api/v1/users/alex", json={"agent_id": "agent2"}, headers=admin)
    assert r.status_code == 200 and r.json()["agent_id"] == "agent2" and r.json()["role"] == "agent"
    r = await c.patch("/api/v1/users/alex", json={"active": False}, headers=admin)
    assert r.json()["active"] is False
    assert (await c.get("/api/v1/auth/me", headers=env.auth[Role.AGENT])).status_code == 401  # signed out
    listed = {u["username"]: u["active"] for u in (await c.get("/api/v1/users", headers=admin)).json()}
    assert listed["alex"] is False and listed["ana"] is True
    r = await c.post("/api/v1/users/sam/password", json={"password": "short"}, headers=admin)
    assert r.status_code == 422
    r = await c.post("/api/v1/users/sam/password", json={"password": "sam-new-pass"}, headers=admin)
    assert r.status_code == 204
    assert (await c.get("/api/v1/auth/me", headers=env.auth[Role.SUPERVISOR])).status_code == 401
    actions = [e["action"] for e in await env.container.web.audit.recent()]
    assert actions[0] == "user.password_reset" and "user.change" in actions
