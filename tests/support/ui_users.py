"""Test users for the UI/API tests, hashed with cheap argon2 parameters (the 2-core CI machine pays
for every default-strength hash; logins still verify real argon2 hashes)."""

from __future__ import annotations

from argon2 import PasswordHasher

from api.security import UserService
from ivr.web.auth import Role

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def add_users(users: UserService, wanted: dict[str, tuple[str, Role, str | None]]) -> dict[str, str]:
    """Adds ``username -> (password, role, agent_id)`` and returns ``username -> bearer token``."""
    users.hashing = users.hashing.with_hasher(CHEAP)  # test-only: same pool and code paths, cheaper parameters
    tokens = {}
    for name, (password, role, agent_id) in wanted.items():
        await users.add_user(name, password, role, agent_id=agent_id)
        tokens[name] = (await users.login(name, password))[1]
    return tokens
