"""An API client with the calls and config domains wired, and a bearer token per role.

Authentication itself is tested by the API's own tests; here ``current_user`` is replaced by a
table of tokens (no argon2 hashing per test), while the real role checks (``require_roles``) run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import HTTPException, Request, status

from ivr.composition import Container
from ivr.db import Database
from ivr.web.auth import Role, User, current_user
from tests.support.app import app_for, make_container

USERS = {
    "token-admin": User(id=1, username="admin", role=Role.ADMIN),
    "token-supervisor": User(id=2, username="supervisor", role=Role.SUPERVISOR),
    "token-agent": User(id=3, username="agent", role=Role.AGENT, agent_id="1001"),
}
AUTH = {user.role.value: f"Bearer {token}" for token, user in USERS.items()}


async def _user_from_table(request: Request) -> User:
    header = request.headers.get("authorization", "")
    user = USERS.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required")
    return user


@asynccontextmanager
async def staff_client(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    container = await make_container(db)
    app = app_for(container)
    app.dependency_overrides[current_user] = _user_from_table
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client, container
