"""Deleting a user from the admin pages: a confirmation page and a plain form POST (no script needed).

``GET /ui/admin/users/{username}/delete`` says what will happen (or why it cannot: your own account,
the last active admin) and offers the button; the POST deletes through the same code as
``DELETE /api/v1/users/{username}`` (audited) and returns to the users page with a notice.

A cookie-authenticated form cannot carry the API's ``X-Requested-With`` header, so the form carries
a token derived from the session token instead (a page on another site cannot read it), and a POST
from another origin is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from api.auth_routes import remove_user
from api.deps import container_of
from api.ui.routes import ADMINS, foreign_origin, guarded, page_user
from ivr.web.auth import SESSION_COOKIE, Role, User

router = APIRouter(prefix="/ui/admin/users", include_in_schema=False)
TEMPLATE = "user_delete.html"


def _session_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE, "")


def form_token(request: Request, username: str) -> str:
    """Binds the form to this session and this user: useless to anyone who cannot read the page."""
    key = _session_token(request).encode()
    return hmac.new(key, f"delete-user:{username}".encode(), hashlib.sha256).hexdigest()


async def _target(request: Request, username: str) -> tuple[User, bool] | None:
    users = container_of(request).web.users
    return next(((u, active) for u, active in await users.accounts() if u.username == username), None)


def _refusal(admin: User, target: User, active: bool, accounts: list[tuple[User, bool]]) -> str | None:
    """Why the deletion will be refused, said before anyone presses the button (the POST checks again)."""
    if target.username == admin.username:
        return "You cannot delete your own account: ask another admin to do it."
    others = [u for u, on in accounts if on and u.role is Role.ADMIN and u.username != target.username]
    if target.role is Role.ADMIN and not others:
        return f"{target.username} is the last active admin: make another user admin first."
    return None


async def _page(request: Request, username: str, *, error: str | None = None,
                status_code: int = status.HTTP_200_OK) -> Response:
    admin = await page_user(request)
    found = await _target(request, username) if admin is not None and admin.role is Role.ADMIN else None
    if admin is not None and admin.role is Role.ADMIN and found is None:
        return await guarded(request, ADMINS, "error.html", "admin", status_code=status.HTTP_404_NOT_FOUND,
                             title="Not found", message=f"There is no user {username}.")
    refusal = error
    if found is not None and admin is not None and refusal is None:
        users = container_of(request).web.users
        refusal = _refusal(admin, found[0], found[1], await users.accounts())
        if refusal is not None:
            status_code = status.HTTP_409_CONFLICT
    return await guarded(request, ADMINS, TEMPLATE, "admin", status_code=status_code,
                         title=f"Delete user {username}", target=found[0] if found else None,
                         refusal=refusal, token=form_token(request, username))


@router.get("/{username}/delete")
async def confirm_delete(request: Request, username: str) -> Response:
    return await _page(request, username)


@router.post("/{username}/delete")
async def delete_submit(request: Request, username: str) -> Response:
    admin = await page_user(request)
    if admin is None or admin.role is not Role.ADMIN:
        return await guarded(request, ADMINS, TEMPLATE, "admin")  # the sign-in redirect, or 403
    form = await request.form(max_files=0, max_fields=4, max_part_size=1024)
    if foreign_origin(request) or not hmac.compare_digest(str(form.get("token") or ""),
                                                          form_token(request, username)):
        return await _page(request, username, status_code=status.HTTP_400_BAD_REQUEST,
                           error="This confirmation has expired or came from another page: confirm again below.")
    users = container_of(request).web.users
    audit = container_of(request).web.audit
    try:
        await remove_user(username, admin, users, audit)
    except HTTPException as exc:
        return await _page(request, username, error=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"/ui/admin/users?deleted={quote(username)}", status.HTTP_303_SEE_OTHER)
