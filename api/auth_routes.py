"""Login / logout / who-am-I, and user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

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


@router.post("/login", response_model=TokenOut)
async def login(body: LoginIn, response: Response, users: Users, request: Request) -> TokenOut:
    try:
        user, token = await users.login(body.username, body.password)
    except AuthError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials") from None
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
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
async def add_user(body: UserIn, admin: AdminUser, users: Users, audit: Audit) -> UserOut:
    try:
        user = await users.add_user(body.username, body.password, body.role, agent_id=body.agent_id)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await audit.record(admin, "user.add", user.username, {"role": user.role.value})
    return UserOut(id=user.id, username=user.username, role=user.role, agent_id=user.agent_id)
