"""The web layer's user store and audit log: the implementations of :mod:`ivr.web.auth`'s ports.

Passwords are argon2 hashes, computed and checked in a bounded thread pool off the event loop
(:mod:`api.hashing`). A login issues an opaque random token (stored as its SHA-256, so a database
leak reveals no live token) used as a bearer token by API clients and as an HttpOnly session cookie
by the web UI. Roles and the route dependencies are in :mod:`ivr.web.auth`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import Request
from pydantic import JsonValue
from sqlalchemy import delete, select

from api.deps import container_of
from api.hashing import PasswordHashing
from api.models import AuditRow, TokenRow, UserRow
from ivr.db import Database, utcnow
from ivr.web.auth import AuthError, Role, User


class UserExists(Exception):
    pass


class UnknownUser(LookupError):
    pass


class CannotDelete(Exception):
    """A deletion refused for a reason an admin can act on (the message says which)."""


class UserService:
    def __init__(self, db: Database, hashing: PasswordHashing, *, token_ttl: timedelta) -> None:
        self._db = db
        self.hashing = hashing
        self._ttl = token_ttl

    async def add_user(self, username: str, password: str, role: Role, *, agent_id: str | None = None) -> User:
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        async with self._db.session() as s:
            existing = await s.scalar(select(UserRow).where(UserRow.username == username))
            if existing is not None:
                raise UserExists(f"user {username!r} already exists")
        # Hashed outside the session: no database connection is held while the pool works.
        password_hash = await self.hashing.hash(password)
        async with self._db.session() as s:
            row = UserRow(username=username, password_hash=password_hash, role=role.value, agent_id=agent_id)
            s.add(row)
            await s.flush()
            return _user(row)

    async def accounts(self) -> list[tuple[User, bool]]:
        """Every user with whether the account is active (disabled ones included, for admins)."""
        async with self._db.session() as s:
            rows = (await s.scalars(select(UserRow).order_by(UserRow.username))).all()
            return [(_user(r), r.active) for r in rows]

    async def update_user(self, username: str, *, role: Role | None = None, agent_id: str | None = None,
                          set_agent: bool = False, active: bool | None = None) -> tuple[User, bool]:
        """Change a user's role, agent id or active flag. Disabling ends their sessions at once."""
        async with self._db.session() as s:
            row = await s.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise UnknownUser(f"no user {username!r}")
            if role is not None:
                row.role = role.value
            if set_agent:
                row.agent_id = agent_id
            if active is not None:
                row.active = active
                if not active:
                    await s.execute(delete(TokenRow).where(TokenRow.user_id == row.id))
            await s.flush()
            return _user(row), row.active

    async def delete_user(self, username: str, *, by: str) -> User:
        """Delete ``username`` and end their sessions; the audit log keeps their name (it stores
        names, not ids). Refused for the admin's own account and for the last active admin: the
        admin rows are locked first (PostgreSQL), so two admins deleting each other at once cannot
        both succeed."""
        if username == by:
            raise CannotDelete("you cannot delete your own account: ask another admin to do it")
        async with self._db.session() as s:
            admins = (await s.scalars(select(UserRow).where(UserRow.role == Role.ADMIN.value)
                                      .order_by(UserRow.id).with_for_update())).all()
            row = await s.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise UnknownUser(f"no user {username!r}")
            others = [a for a in admins if a.active and a.id != row.id]
            if row.role == Role.ADMIN.value and not others:
                raise CannotDelete(f"{username} is the last active admin: make another user admin first")
            user = _user(row)
            await s.execute(delete(TokenRow).where(TokenRow.user_id == row.id))
            await s.execute(delete(UserRow).where(UserRow.id == row.id))
            return user

    async def set_password(self, username: str, password: str) -> None:
        """A new password (hashed in the pool); every session of that user ends."""
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        async with self._db.session() as s:
            if await s.scalar(select(UserRow.id).where(UserRow.username == username)) is None:
                raise UnknownUser(f"no user {username!r}")
        password_hash = await self.hashing.hash(password)
        async with self._db.session() as s:
            row = await s.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise UnknownUser(f"no user {username!r}")
            row.password_hash = password_hash
            await s.execute(delete(TokenRow).where(TokenRow.user_id == row.id))

    async def list_users(self) -> list[User]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(UserRow).order_by(UserRow.username))).all()
            return [_user(r) for r in rows if r.active]

    async def login(self, username: str, password: str) -> tuple[User, str]:
        """Checks the password (in the hashing pool; ``HashingBusy`` when it is full)."""
        async with self._db.session() as s:
            row = await s.scalar(select(UserRow).where(UserRow.username == username, UserRow.active.is_(True)))
        if row is None:
            # Same work as a real check, so timing doesn't reveal which usernames exist.
            await self.hashing.verify_dummy(password)
            raise AuthError("invalid credentials")
        if not await self.hashing.verify(row.password_hash, password):
            raise AuthError("invalid credentials")
        token = secrets.token_urlsafe(32)
        async with self._db.session() as s:
            s.add(TokenRow(token_hash=_hash(token), user_id=row.id, expires_at=utcnow() + self._ttl))
        return _user(row), token

    async def user_for_token(self, token: str) -> User:
        async with self._db.session() as s:
            found = (
                await s.execute(
                    select(UserRow, TokenRow)
                    .join(TokenRow, TokenRow.user_id == UserRow.id)
                    .where(TokenRow.token_hash == _hash(token))
                )
            ).first()
            if found is None:
                raise AuthError("invalid token")
            row, tok = found
            if tok.expires_at <= utcnow() or not row.active:
                raise AuthError("invalid token")
            return _user(row)

    async def logout(self, token: str) -> None:
        async with self._db.session() as s:
            await s.execute(delete(TokenRow).where(TokenRow.token_hash == _hash(token)))


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, user: User, action: str, target: str, detail: Mapping[str, JsonValue] | None = None) -> None:
        await self.record_as(user.username, action, target, detail)

    async def record_as(self, username: str, action: str, target: str,
                        detail: Mapping[str, JsonValue] | None = None) -> None:
        """For events without a signed-in user (a failed login names the account it tried)."""
        async with self._db.session() as s:
            s.add(AuditRow(username=username[:64], action=action, target=target[:255], detail=dict(detail or {})))

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))).all()
            return [
                {"at": r.at.isoformat(), "user": r.username, "action": r.action, "target": r.target, "detail": r.detail}
                for r in rows
            ]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), agent_id=row.agent_id)


# --------------------------------------------------------------------------- FastAPI dependencies
# The dependencies the domains' routes share (the signed-in user, roles, the audit trail) are core:
# ivr.web.auth. Only the web layer's own routes need the whole user service.


def users_service(request: Request) -> UserService:
    return container_of(request).web.users
