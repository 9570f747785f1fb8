"""The authorisation matrix: every route of the full app × {no token, agent, supervisor, admin}.

Every route must be classified here: public, a UI page (redirects to the login page), or an API
route with its allowed roles. A route nobody classified fails the test, so a new endpoint cannot
ship without a decision about who may call it. No combination may answer 500.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from api.app import create_app
from ivr.composition import Container, build_container
from ivr.db import Database
from ivr.settings import Settings
from ivr.web.auth import Role
from tests.support.ui_users import add_users

AGENT, SUPERVISOR, ADMIN = frozenset(Role), frozenset({Role.SUPERVISOR, Role.ADMIN}), frozenset({Role.ADMIN})

# Reachable without credentials (each guards itself: signatures, link tokens, or nothing to hide).
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/c/{token}"), ("POST", "/c/{token}/case"), ("POST", "/c/{token}/rate"), ("POST", "/c/{token}/callback"),
    ("POST", "/c/{token}/callback/change"), ("POST", "/c/{token}/callback/cancel"),
    ("POST", "/webhooks/twilio/status"), ("POST", "/webhooks/twilio/inbound"),
    ("GET", "/webhooks/meta"), ("POST", "/webhooks/meta"),
    ("GET", "/ui/login"), ("POST", "/ui/login"), ("GET", "/ui"), ("GET", "/ui/static/{name}"),
    ("GET", "/ui/static/vendor/{name}"), ("GET", "/favicon.ico"),
})

# Web pages: without a session they redirect to /ui/login; a wrong role gets 403.
UI_PAGES: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/ui/desk"): AGENT,
    ("POST", "/ui/language"): AGENT,
    ("GET", "/ui/wallboard"): SUPERVISOR,
    ("GET", "/ui/flows"): SUPERVISOR,
    ("GET", "/ui/flows/{name}"): SUPERVISOR,
    ("GET", "/ui/admin"): ADMIN,
    ("GET", "/ui/admin/{section}"): ADMIN,
    ("GET", "/ui/admin/users/{username}/delete"): ADMIN,
    ("POST", "/ui/admin/users/{username}/delete"): ADMIN,
}

# API routes and the roles allowed (admins pass every check). Writes are listed with care: the
# least role that may change something.
API: dict[tuple[str, str], frozenset[Role]] = {
    # auth and users
    ("POST", "/api/v1/auth/logout"): AGENT,
    ("GET", "/api/v1/auth/me"): AGENT,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{username}"): ADMIN,
    ("POST", "/api/v1/users/{username}/password"): ADMIN,
    ("DELETE", "/api/v1/users/{username}"): ADMIN,
    # calls
    ("GET", "/api/v1/calls"): SUPERVISOR,
    ("GET", "/api/v1/calls/by-number/{number}"): AGENT,
    ("GET", "/api/v1/calls/{call_id}"): AGENT,
    # schedules
    ("GET", "/api/v1/schedules/definition"): AGENT,
    ("PUT", "/api/v1/schedules/definition"): ADMIN,
    ("GET", "/api/v1/schedules/versions"): SUPERVISOR,
    ("POST", "/api/v1/schedules/versions/{version}/restore"): ADMIN,
    ("GET", "/api/v1/schedules"): AGENT,
    ("GET", "/api/v1/schedules/{name}"): AGENT,
    ("PUT", "/api/v1/schedules/{name}/override"): SUPERVISOR,
    ("DELETE", "/api/v1/schedules/{name}/override"): SUPERVISOR,
    # deflection (staff reads)
    ("GET", "/api/v1/deflections"): AGENT,
    ("GET", "/api/v1/deflections/stats"): AGENT,
    ("GET", "/api/v1/deflections/outbox"): SUPERVISOR,  # live links: masked unless full=true
    ("GET", "/api/v1/deflections/cases"): AGENT,
    ("GET", "/api/v1/deflections/{link_id}"): AGENT,
    ("GET", "/api/v1/deflections/templates"): AGENT,
    ("PUT", "/api/v1/deflections/templates/{language}/{key}"): ADMIN,
    ("DELETE", "/api/v1/deflections/templates/{language}/{key}"): ADMIN,
    ("GET", "/api/v1/deflections/providers"): ADMIN,
    ("GET", "/api/v1/customers/{number}/history"): AGENT,
    # callbacks (agents book and manage callbacks for their callers)
    ("GET", "/api/v1/callbacks"): AGENT,
    ("GET", "/api/v1/callbacks/{callback_id}"): AGENT,
    ("POST", "/api/v1/callbacks"): AGENT,
    ("POST", "/api/v1/callbacks/{callback_id}/cancel"): AGENT,
    ("POST", "/api/v1/callbacks/{callback_id}/reschedule"): AGENT,
    # queues and agents
    ("GET", "/api/v1/queues/status"): AGENT,
    ("GET", "/api/v1/queues"): AGENT,
    ("GET", "/api/v1/agents"): AGENT,
    ("PUT", "/api/v1/agents/{agent_id}/state"): AGENT,  # an agent only for itself (checked below)
    ("PUT", "/api/v1/queues/{name}"): ADMIN,
    ("PUT", "/api/v1/agents/{agent_id}"): ADMIN,
    # flows
    ("GET", "/api/v1/flows"): AGENT,
    ("GET", "/api/v1/flows/{name}"): AGENT,
    ("GET", "/api/v1/flows/{name}/graph"): AGENT,
    ("GET", "/api/v1/flows/{name}/versions"): AGENT,
    ("GET", "/api/v1/flows/{name}/versions/{version}"): AGENT,
    ("GET", "/api/v1/flows/{name}/diff"): AGENT,
    ("POST", "/api/v1/flows/validate"): ADMIN,  # the role that edits flows
    ("POST", "/api/v1/flows/{name}/versions"): ADMIN,
    ("POST", "/api/v1/flows/{name}/versions/{version}/publish"): ADMIN,
    ("POST", "/api/v1/flows/{name}/rollback"): ADMIN,
    ("GET", "/api/v1/flows/{name}/changes"): AGENT,
    # the web UI's own API
    ("GET", "/api/v1/desk/events"): AGENT,
    ("GET", "/api/v1/desk/work"): AGENT,
    ("POST", "/api/v1/desk/wrapup"): AGENT,
    ("POST", "/api/v1/desk/wrapup/more-time"): AGENT,
    ("GET", "/api/v1/desk/call"): AGENT,
    ("POST", "/api/v1/desk/calls/{call_id}/hold"): AGENT,
    ("POST", "/api/v1/desk/calls/{call_id}/resume"): AGENT,
    ("POST", "/api/v1/desk/calls/{call_id}/transfer"): AGENT,
    ("GET", "/api/v1/deflections/cases/{case_id}"): AGENT,
    ("POST", "/api/v1/deflections/cases/{case_id}/reply"): AGENT,
    ("POST", "/api/v1/deflections/cases/{case_id}/close"): AGENT,
    ("GET", "/api/v1/stats/today"): SUPERVISOR,
    ("POST", "/api/v1/ui/flows/inspect"): SUPERVISOR,
    ("POST", "/api/v1/ui/flows/edit-node"): ADMIN,  # the role that edits flows
    ("POST", "/api/v1/ui/flows/simulate"): SUPERVISOR,  # read-only: supervisors try flows too
    ("POST", "/api/v1/ui/flows/prompts"): SUPERVISOR,
    ("GET", "/api/v1/ui/flows/prompt-audio"): SUPERVISOR,
}

# Concrete values for path parameters (existing objects where that matters for the check).
PATH_VALUES = {
    "name": "support", "version": "1", "number": "+34600000001", "call_id": "no-such-call",
    "link_id": "no-such-link", "callback_id": "no-such-callback", "agent_id": "agent1", "token": "no-such-token",
    "section": "users", "username": "nobody", "case_id": "1",
}
STATIC_NAME = "common.js"
# The desk needs to know which agent; supervisors and admins name one.
QUERY = {"/api/v1/desk/events": "?agent_id=agent1", "/api/v1/desk/work": "?agent_id=agent1",
         "/api/v1/desk/wrapup": "?agent_id=agent1", "/api/v1/desk/call": "?agent_id=agent1",
         "/api/v1/desk/wrapup/more-time": "?agent_id=agent1",
         "/api/v1/flows/{name}/diff": "?to=1",
         "/api/v1/ui/flows/prompt-audio": "?key=es/greeting"}
USERS = {Role.ADMIN: ("ana", "admin-pass-1"), Role.SUPERVISOR: ("sam", "super-pass-1"),
         Role.AGENT: ("alex", "agent-pass-1")}


@dataclass
class Matrix:
    app: FastAPI
    container: Container
    tokens: dict[Role, str]


@pytest.fixture
async def matrix(sqlite_db: Database) -> AsyncIterator[Matrix]:
    container = await build_container(Settings(), db=sqlite_db)
    by_name = await add_users(container.web.users, {
        name: (password, role, "agent1" if role is Role.AGENT else None) for role, (name, password) in USERS.items()})
    tokens = {role: by_name[name] for role, (name, _) in USERS.items()}
    try:
        yield Matrix(create_app(container), container, tokens)
    finally:
        await container.aclose()


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, str(route.path)))
    return found


def concrete(path: str) -> str:
    if path == "/ui/static/{name}":
        return f"/ui/static/{STATIC_NAME}"
    if path == "/ui/static/vendor/{name}":
        return "/ui/static/vendor/uPlot.min.css"
    filled = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)
    return filled + QUERY.get(path, "")


async def answer(app: FastAPI, method: str, path: str, headers: dict[str, str],
                 body: bytes | None = None) -> tuple[int, dict[str, str]]:
    """The status and headers the app starts its answer with. Talks ASGI directly so that streams
    (Server-Sent Events) are judged by their first line and then cancelled, not read forever."""
    raw_path, _, query = path.partition("?")
    if body is None:
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else b""
    all_headers = {"host": "test", "content-type": "application/json", "content-length": str(len(body)), **headers}
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("test", 80), "state": {},
    }
    sent = False
    started: asyncio.Future[tuple[int, dict[str, str]]] = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until we cancel
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            hdrs = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            started.set_result((message["status"], hdrs))

    task = asyncio.create_task(app(scope, receive, send))
    try:
        waiting: set[asyncio.Future[Any]] = {task, started}
        done, _ = await asyncio.wait(waiting, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if started.done():
            return started.result()
        if task in done and task.exception() is not None:
            return 500, {"x-error": repr(task.exception())}
        raise AssertionError(f"{method} {path} gave no answer")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def classify(key: tuple[str, str]) -> str:
    if key in PUBLIC:
        return "public"
    if key in UI_PAGES:
        return "page"
    if key in API:
        return "api"
    return "unclassified"


async def test_every_route_is_classified(matrix: Matrix) -> None:
    present = routes_of(matrix.app)
    unclassified = sorted(k for k in present if classify(k) == "unclassified")
    assert not unclassified, f"classify these routes in tests/api/test_matrix.py: {unclassified}"
    stale = sorted((PUBLIC | UI_PAGES.keys() | API.keys()) - present)
    assert not stale, f"the matrix lists routes the app no longer has: {stale}"


async def test_authorisation_matrix(matrix: Matrix) -> None:
    failures: list[str] = []
    for method, path in sorted(routes_of(matrix.app)):
        kind = classify((method, path))
        url = concrete(path)
        status, headers = await answer(matrix.app, method, url, {})
        if (method, path) == ("GET", "/ready") and status == 503:
            pass  # "not ready" is an answer: the app's FastAGI/SIP listeners are not started here
        elif status >= 500:
            failures.append(f"{method} {url} no token: {status} {headers.get('x-error', '')}")
        elif kind == "api" and status != 401:
            failures.append(f"{method} {url} no token: expected 401, got {status}")
        elif kind == "page" and not (status == 303 and headers.get("location", "").startswith("/ui/login")):
            failures.append(f"{method} {url} no token: expected a redirect to /ui/login, got {status}")
        if kind == "public":
            continue
        allowed = API.get((method, path)) or UI_PAGES[(method, path)]
        for role in Role:
            token = matrix.tokens[role]
            if (method, path) == ("POST", "/api/v1/auth/logout"):  # revokes its token: use a spare one
                token = (await matrix.container.web.users.login(*USERS[role]))[1]
            status, headers = await answer(matrix.app, method, url, {"authorization": f"Bearer {token}"})
            if status >= 500:
                failures.append(f"{method} {url} as {role}: {status} {headers.get('x-error', '')}")
            elif role in allowed and status in (401, 403):
                failures.append(f"{method} {url} as {role}: allowed, got {status}")
            elif role not in allowed and status != 403:
                failures.append(f"{method} {url} as {role}: expected 403, got {status}")
    assert not failures, "\n".join(failures)


async def test_agents_act_only_for_themselves(matrix: Matrix) -> None:
    bearer = {"authorization": f"Bearer {matrix.tokens[Role.AGENT]}"}
    for method, url, body in (
        ("PUT", "/api/v1/agents/agent2/state", {"state": "away"}),
        ("GET", "/api/v1/desk/work?agent_id=agent2", None),
        ("GET", "/api/v1/desk/events?agent_id=agent2", None),
        ("POST", "/api/v1/desk/wrapup?agent_id=agent2", {"call_id": "c1", "disposition": "resolved"}),
    ):
        status, _ = await answer(matrix.app, method, url, bearer, json.dumps(body).encode() if body else None)
        assert status == 403, (method, url, status)
    # their own desk, but a call nobody recorded (tests/api/test_least_privilege.py has the rest)
    made_up = json.dumps({"call_id": "made-up", "disposition": "resolved"}).encode()
    status, _ = await answer(matrix.app, "POST", "/api/v1/desk/wrapup", bearer, made_up)
    assert status == 404


async def test_cookie_writes_need_the_csrf_header(matrix: Matrix) -> None:
    cookie = {"cookie": f"puente_session={matrix.tokens[Role.ADMIN]}"}
    status, _ = await answer(matrix.app, "POST", "/api/v1/flows/validate", cookie)
    assert status == 403
    status, _ = await answer(matrix.app, "POST", "/api/v1/flows/validate", {**cookie, "x-requested-with": "puente-ui"})
    assert status == 422  # past auth and CSRF: the empty body is what is wrong now
    status, _ = await answer(matrix.app, "GET", "/api/v1/flows", cookie)
    assert status == 200  # reads need no header
    status, _ = await answer(matrix.app, "POST", "/api/v1/flows/validate",
                             {"authorization": f"Bearer {matrix.tokens[Role.ADMIN]}"})
    assert status == 422  # bearer clients are not affected


def test_openapi_lists_no_ui_pages(matrix: Matrix) -> None:
    paths = json.loads(json.dumps(matrix.app.openapi()))["paths"]
    assert not any(p.startswith("/ui") for p in paths)
    assert "/api/v1/desk/wrapup" in paths
