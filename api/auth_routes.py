"""Login / logout / who-am-I, and user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from api.deps import container_of
from api.hashing import HashingBusy
from api.login import LoginGate, LoginThrottled
from api.security import CannotDelete, UnknownUser, UserExists, UserService, users_service
from ivr.web.auth import SESSION_COOKIE, AdminUser, Audit, AuditTrail, AuthError, CurrentUser, Role, User
from ivr.web.clientip import client_ip

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])
Users = Annotated[UserService, Depends(users_service)]


def login_gate(request: Request) -> LoginGate:
    return container_of(request).web.login


Gate = Annotated[LoginGate, Depends(login_gate)]


def busy() -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "busy checking passwords: try again in a moment",
                         headers={"Retry-After": str(HashingBusy.retry_after)})


def throttled(exc: LoginThrottled) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                         headers={"Retry-After": exc.block.retry_after_header})


def set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    token: str
    username: str
    role: Role


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    agent_id: str | None = None


class AccountOut(UserOut):
    """A user as admins manage it: with whether the account is active."""

    active: bool


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    agent_id: str | None = Field(default=None, max_length=64)


@router.post("/login", response_model=TokenOut,
             responses={429: {"description": "too many failed sign-ins (see Retry-After)"},
                        503: {"description": "password checks are busy (see Retry-After)"}})
async def login(body: LoginIn, response: Response, gate: Gate, request: Request) -> TokenOut:
    try:
        user, token = await gate.sign_in(body.username, body.password, client_ip(request))
    except AuthError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials") from None
    except LoginThrottled as exc:
        raise throttled(exc) from None
    except HashingBusy:
        raise busy() from None
    set_session(response, request, token)
    return TokenOut(token=token, username=user.username, role=user.role)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, users: Users, user: CurrentUser) -> None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE)
    if token:
        await users.logout(token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=user.role, agent_id=user.agent_id)


@users_router.get("", response_model=list[AccountOut])
async def list_users(_: AdminUser, users: Users) -> list[AccountOut]:
    """Every user, disabled ones included (``active`` says which)."""
    return [AccountOut(id=u.id, username=u.username, role=u.role, agent_id=u.agent_id, active=active)
            for u, active in await users.accounts()]


class UserPatch(BaseModel):
    role: Role | None = None
    agent_id: str | None = Field(default=None, max_length=64)  # given as null: no agent
    active: bool | None = None


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=256)


def _check_agent(request: Request, agent_id: str | None) -> None:
    acd = container_of(request).acd.service
    if agent_id and agent_id not in acd.router.agents:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"there is no agent {agent_id!r}: add it under Admin → Agents first, or leave it empty")


@users_router.patch("/{username}", response_model=AccountOut, responses={404: {"description": "no such user"}})
async def change_user(username: str, body: UserPatch, *, admin: AdminUser, users: Users, audit: Audit,
                      request: Request) -> AccountOut:
    """Role, agent id, enable/disable (disabling ends the user's sessions). Admins cannot lock
    themselves out: their own role and active flag stay."""
    if username == admin.username and (body.active is False or (body.role not in (None, Role.ADMIN))):
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable or demote your own account")
    set_agent = "agent_id" in body.model_fields_set
    if set_agent:
        _check_agent(request, body.agent_id)
    try:
        user, active = await users.update_user(username, role=body.role, agent_id=body.agent_id or None,
                                               set_agent=set_agent, active=body.active)
    except UnknownUser:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}") from None
    await audit.record(admin, "user.change", username, body.model_dump(mode="json", exclude_unset=True))
    return AccountOut(id=user.id, username=user.username, role=user.role, agent_id=user.agent_id, active=active)


@users_router.post("/{username}/password", status_code=204, responses={404: {"description": "no such user"}})
async def reset_password(username: str, body: PasswordIn, admin: AdminUser, users: Users, audit: Audit) -> None:
    """A new password set by an admin; the user's sessions end."""
    try:
        await users.set_password(username, body.password)
    except UnknownUser:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}") from None
    except HashingBusy:
        raise busy() from None
    await audit.record(admin, "user.password_reset", username)


@users_router.delete("/{username}", status_code=204,
                     responses={404: {"description": "no such user"},
                                409: {"description": "your own account, or the last active admin"}})
async def delete_user(username: str, admin: AdminUser, users: Users, audit: Audit) -> None:
    """Delete a user and end their sessions. Audit entries keep the name (the log stores names).
    Refused (409, with the reason) for your own account and for the last active admin."""
    await remove_user(username, admin, users, audit)


async def remove_user(username: str, admin: User, users: UserService, audit: AuditTrail) -> User:
    """Shared by the API and the no-script confirmation page: delete, then audit what was deleted."""
    try:
        gone = await users.delete_user(username, by=admin.username)
    except UnknownUser:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}") from None
    except CannotDelete as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await audit.record(admin, "user.delete", username, {"role": gone.role.value, "agent_id": gone.agent_id})
    return gone


@users_router.post("", response_model=UserOut, status_code=201)
async def add_user(body: UserIn, admin: AdminUser, users: Users, audit: Audit, request: Request) -> UserOut:
    _check_agent(request, body.agent_id)
    try:
        user = await users.add_user(body.username, body.password, body.role, agent_id=body.agent_id)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except HashingBusy:
        raise busy() from None
    await audit.record(admin, "user.add", user.username, {"role": user.role.value})
    return UserOut(id=user.id, username=user.username, role=user.role, agent_id=user.agent_id)
