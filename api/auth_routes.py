"""Login / logout / who-am-I, and user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from api.clientip import client_ip
from api.hashing import HashingBusy
from api.login import LoginGate, LoginThrottled
from api.security import (
    SESSION_COOKIE,
    AdminUser,
    Audit,
    AuthError,
    CurrentUser,
    Role,
    UserExists,
    UserService,
    users_service,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])
Users = Annotated[UserService, Depends(users_service)]


def login_gate(request: Request) -> LoginGate:
    gate: LoginGate = request.app.state.container.services["login"]
    return gate


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


@users_router.get("", response_model=list[UserOut])
async def list_users(_: AdminUser, users: Users) -> list[UserOut]:
    return [UserOut(id=u.id, username=u.username, role=u.role, agent_id=u.agent_id) for u in await users.list_users()]


@users_router.post("", response_model=UserOut, status_code=201)
async def add_user(body: UserIn, admin: AdminUser, users: Users, audit: Audit, request: Request) -> UserOut:
    acd = request.app.state.container.services.get("acd")
    if body.agent_id and acd is not None and body.agent_id not in acd.router.agents:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"there is no agent {body.agent_id!r}: add it under Admin → Agents first, or leave it "
                            "empty")
    try:
        user = await users.add_user(body.username, body.password, body.role, agent_id=body.agent_id)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except HashingBusy:
        raise busy() from None
    await audit.record(admin, "user.add", user.username, {"role": user.role.value})
    return UserOut(id=user.id, username=user.username, role=user.role, agent_id=user.agent_id)
