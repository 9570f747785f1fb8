"""Who is signed in and what their role lets them do: the FastAPI dependencies every domain's routes use.

Users have one role: admin, supervisor or agent; admins pass every role check. A login issues an
opaque token, sent as a bearer token by API clients and as an HttpOnly session cookie by the web UI.
The user store and the audit log are ports (:class:`TokenUsers`, :class:`AuditTrail`) declared here
and implemented by the web layer (``api.security``), so a domain's routes need nothing above the core.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, status
from pydantic import JsonValue

SESSION_COOKIE = "puente_session"


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    agent_id: str | None = None


class AuthError(Exception):
    """Bad credentials or an unknown/expired token (the message never says which)."""


class TokenUsers(Protocol):
    """The user store as the routes need it: who holds this token (:class:`AuthError` if nobody)."""

    async def user_for_token(self, token: str) -> User: ...


class AuditTrail(Protocol):
    """The audit log as the routes need it: who did what to which target."""

    async def record(self, user: User, action: str, target: str,
                     detail: Mapping[str, JsonValue] | None = None) -> None: ...

    async def record_as(self, username: str, action: str, target: str,
                        detail: Mapping[str, JsonValue] | None = None) -> None: ...


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


CSRF_HEADER = "x-requested-with"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cookie_write_without_csrf_header(request: Request) -> bool:
    """A write authenticated only by the session cookie must carry ``X-Requested-With`` (a custom
    header a cross-site form cannot send; the SameSite=strict cookie is the first line). Bearer
    clients are not exposed to CSRF and are unaffected."""
    if request.method in _SAFE_METHODS or request.headers.get("authorization", "").lower().startswith("bearer "):
        return False
    return not request.headers.get(CSRF_HEADER)


def token_users(request: Request) -> TokenUsers:
    users: TokenUsers = request.app.state.token_users  # set by the web layer's app (api.app)
    return users


def audit_trail(request: Request) -> AuditTrail:
    log: AuditTrail = request.app.state.audit_trail  # likewise
    return log


async def current_user(request: Request, users: Annotated[TokenUsers, Depends(token_users)]) -> User:
    token = _token_from(request)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        user = await users.user_for_token(token)
    except AuthError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"}) from None
    if _cookie_write_without_csrf_header(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cookie-authenticated writes need the X-Requested-With header")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
Audit = Annotated[AuditTrail, Depends(audit_trail)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    """A dependency (use with ``Depends``) that lets through admins and the given roles."""
    allowed = {Role.ADMIN, *roles}

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(sorted(allowed))}")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
SupervisorUser = Annotated[User, Depends(require_roles(Role.SUPERVISOR))]
StaffUser = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.AGENT))]
