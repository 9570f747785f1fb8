from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.security import UserService
from ivr.db import Database
from ivr.web.auth import Role
from tests.support.app import app_for, make_container


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    container = await make_container(database)
    users: UserService = container.web.users
    await users.add_user("ana", "correct-horse", Role.ADMIN)
    await users.add_user("sam", "supervisor-pw", Role.SUPERVISOR)
    await users.add_user("alex", "agent-pass", Role.AGENT, agent_id="1001")
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def login(client: httpx.AsyncClient, user: str, password: str) -> str:
    r = await client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def test_login_issues_a_token_that_identifies_the_user(client: httpx.AsyncClient) -> None:
    token = await login(client, "alex", "agent-pass")
    assert len(token) >= 40
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"id": me.json()["id"], "username": "alex", "role": "agent", "agent_id": "1001"}


async def test_wrong_password_and_unknown_user_look_the_same(client: httpx.AsyncClient) -> None:
    bad = await client.post("/api/v1/auth/login", json={"username": "ana", "password": "nope-nope"})
    unknown = await client.post("/api/v1/auth/login", json={"username": "zed", "password": "nope-nope"})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json()


async def test_session_cookie_authenticates_the_ui(client: httpx.AsyncClient) -> None:
    await login(client, "sam", "supervisor-pw")
    assert "puente_session" in client.cookies
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "supervisor"


async def test_no_token_and_forged_token_are_rejected(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    forged = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer abc123"})
    assert forged.status_code == 401


@pytest.mark.parametrize(("user", "password", "expected"), [
    ("ana", "correct-horse", 201),
    ("sam", "supervisor-pw", 403),
    ("alex", "agent-pass", 403),
    (None, None, 401),
])
async def test_only_admins_add_users(client: httpx.AsyncClient, user: str | None, password: str | None,
                                     expected: int) -> None:
    headers = {}
    if user and password:
        headers["Authorization"] = f"Bearer {await login(client, user, password)}"
    client.cookies.clear()
    r = await client.post("/api/v1/users", json={"username": "newbie", "password": "long-enough", "role": "agent"},
                          headers=headers)
    assert r.status_code == expected, r.text


async def test_logout_revokes_the_token(client: httpx.AsyncClient) -> None:
    token = await login(client, "ana", "correct-horse")
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_user_writes_are_audited(client: httpx.AsyncClient, database: Database) -> None:
    token = await login(client, "ana", "correct-horse")
    await client.post("/api/v1/users", json={"username": "eve", "password": "long-enough", "role": "agent"},
                      headers={"Authorization": f"Bearer {token}"})
    from api.security import AuditLog

    entries = await AuditLog(database).recent()
    assert entries[0]["user"] == "ana" and entries[0]["action"] == "user.add" and entries[0]["target"] == "eve"
