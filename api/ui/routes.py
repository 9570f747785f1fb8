"""Server-rendered pages of the web UI (Jinja2) and their static files, all served by us.

Every page but the login page needs the session (cookie) and a role; without one the browser is
sent to ``/ui/login``. Pages only render a shell: they read and write through the JSON API with
the session cookie (writes carry ``X-Requested-With``, see :mod:`ivr.web.auth`). A strict Content
Security Policy allows only our own scripts and styles.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.auth_routes import set_session
from api.deps import container_of
from api.hashing import HashingBusy
from api.login import LoginThrottled
from api.readable import DESK_LANGUAGES, LANGUAGE_COOKIE, desk_language
from ivr.web.auth import SESSION_COOKIE, AuthError, Role, User
from ivr.web.clientip import client_ip

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
# A fixed list read once: the static route serves exactly these files, nothing from a request path.
STATIC_FILES: dict[str, Path] = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
# Built files of npm packages (see static/vendor/README.md), likewise a fixed list.
VENDOR_FILES: dict[str, Path] = {p.name: p for p in (STATIC_DIR / "vendor").iterdir()
                                 if p.is_file() and p.suffix in {".js", ".css"}}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ALL_ROLES = frozenset(Role)
SUPERVISORS = frozenset({Role.ADMIN, Role.SUPERVISOR})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    href: str
    label: str
    roles: frozenset[Role]


NAV = (
    NavItem("desk", "/ui/desk", "Agent desk", ALL_ROLES),
    NavItem("wallboard", "/ui/wallboard", "Wallboard", SUPERVISORS),
    NavItem("flows", "/ui/flows", "Flows", SUPERVISORS),
    NavItem("admin", "/ui/admin", "Admin", ADMINS),
)
ADMIN_SECTIONS = {
    "schedules": "Schedules", "queues": "Queues", "agents": "Agents", "users": "Users",
    "templates": "Message templates", "outbox": "Outbox",
}

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)
router = APIRouter(prefix="/ui", include_in_schema=False)


def home_for(user: User) -> str:
    return "/ui/desk" if user.role is Role.AGENT else "/ui/wallboard"


async def page_user(request: Request) -> User | None:
    """The signed-in user from the session cookie (or a bearer header), or None."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    users = container_of(request).web.users
    try:
        return await users.user_for_token(token)
    except AuthError:
        return None


def render(request: Request, name: str, *, user: User | None, active: str = "", status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page; its ``<meta name="puente-timezone">`` tells the scripts which zone people read times in."""
    nav = [item for item in NAV if user is not None and user.role in item.roles]
    zone = container_of(request).settings.timezone
    html = templates.get_template(name).render(user=user, nav=nav, active=active, status_code=status_code,
                                               timezone=zone, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


async def guarded(request: Request, roles: frozenset[Role], name: str, active: str, *, status_code: int = 200,
                  **context: Any) -> Response:
    user = await page_user(request)
    if user is None:
        return RedirectResponse(f"/ui/login?next={quote(request.url.path)}", status.HTTP_303_SEE_OTHER)
    if user.role not in roles:
        return render(request, "error.html", user=user, status_code=status.HTTP_403_FORBIDDEN, title="Not allowed",
                      message=f"This page needs the role {' or '.join(sorted(r.value for r in roles))}.")
    return render(request, name, user=user, active=active, status_code=status_code, **context)


FAVICON = STATIC_DIR / "favicon.svg"
favicon_router = APIRouter(include_in_schema=False)


@favicon_router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for /favicon.ico on every page; the SVG answers it (Chromium and Firefox take SVG)."""
    return Response(FAVICON.read_bytes(), media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/static/vendor/{name}")
async def vendor_file(name: str) -> Response:
    return _static(VENDOR_FILES.get(name), name)


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    return _static(STATIC_FILES.get(name), name)


def _static(path: Path | None, name: str) -> Response:
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), media_type=media_type,
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# Only our own pages: a ``next`` that leaves /ui would be an open redirect.
_SAFE_NEXT = re.compile(r"/ui/[A-Za-z0-9_/-]*")


def safe_next(raw: str | None) -> str | None:
    return raw if raw and _SAFE_NEXT.fullmatch(raw) and "//" not in raw else None


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    user = await page_user(request)
    if user is not None:
        return RedirectResponse(home_for(user), status.HTTP_303_SEE_OTHER)
    return render(request, "login.html", user=None, title="Sign in", next=safe_next(request.query_params.get("next")))


def foreign_origin(request: Request) -> bool:
    """A sign-in posted from another site's page (login CSRF). Browsers send Origin on every POST."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    ours = {request.url.netloc, urlsplit(container_of(request).settings.http.public_base_url).netloc}
    return urlsplit(origin).netloc not in ours


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    """The sign-in form: sets the session cookie and redirects; works without any script."""
    form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    next_page = safe_next(str(form.get("next") or ""))

    def again(error: str, code: int, headers: dict[str, str] | None = None) -> HTMLResponse:
        page = render(request, "login.html", user=None, title="Sign in", status_code=code, next=next_page,
                      username=username[:64], error=error)
        page.headers.update(headers or {})
        return page

    if foreign_origin(request):
        return again("Sign in from this site's own page.", status.HTTP_403_FORBIDDEN)
    if not 1 <= len(username) <= 64 or not 1 <= len(password) <= 256:
        return again("Enter your username and password.", status.HTTP_422_UNPROCESSABLE_CONTENT)
    gate = container_of(request).web.login
    try:
        user, token = await gate.sign_in(username, password, client_ip(request))
    except AuthError:
        return again("Wrong username or password.", status.HTTP_401_UNAUTHORIZED)
    except LoginThrottled as exc:
        return again(str(exc), status.HTTP_429_TOO_MANY_REQUESTS, {"Retry-After": exc.block.retry_after_header})
    except HashingBusy:
        return again("The server is busy; try again in a moment.", status.HTTP_503_SERVICE_UNAVAILABLE,
                     {"Retry-After": str(HashingBusy.retry_after)})
    response = RedirectResponse(next_page or home_for(user), status.HTTP_303_SEE_OTHER)
    set_session(response, request, token)
    return response


@router.get("", response_class=HTMLResponse)
async def ui_home(request: Request) -> Response:
    user = await page_user(request)
    return RedirectResponse(home_for(user) if user else "/ui/login", status.HTTP_303_SEE_OTHER)


DESK_LANGUAGE_NAMES = {"en": "English", "es": "Español"}


@router.get("/desk", response_class=HTMLResponse)
async def desk_page(request: Request) -> Response:
    return await guarded(request, ALL_ROLES, "desk.html", "desk", title="Agent desk",
                         desk_language=desk_language(request), desk_languages=DESK_LANGUAGE_NAMES)


@router.post("/language", response_class=HTMLResponse)
async def choose_language(request: Request) -> Response:
    """The agent's language for the desk's step and option names: a cookie, set by a plain form."""
    user = await page_user(request)
    if user is None:
        return RedirectResponse("/ui/login?next=/ui/desk", status.HTTP_303_SEE_OTHER)
    form = await request.form(max_files=0, max_fields=4, max_part_size=256)
    chosen = str(form.get("lang") or "")
    if foreign_origin(request) or chosen not in DESK_LANGUAGES:
        return render(request, "error.html", user=user, status_code=status.HTTP_400_BAD_REQUEST,
                      title="Language not changed", message="Choose English or Español on the desk's own page.")
    response = RedirectResponse(safe_next(str(form.get("next") or "")) or "/ui/desk", status.HTTP_303_SEE_OTHER)
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="strict", httponly=True,
                        secure=request.url.scheme == "https", path="/")
    return response


@router.get("/wallboard", response_class=HTMLResponse)
async def wallboard_page(request: Request) -> Response:
    return await guarded(request, SUPERVISORS, "wallboard.html", "wallboard", title="Wallboard")


@router.get("/flows", response_class=HTMLResponse)
async def flows_page(request: Request) -> Response:
    return await guarded(request, SUPERVISORS, "flows.html", "flows", title="Flows")


@router.get("/flows/{name}", response_class=HTMLResponse)
async def flow_editor_page(request: Request, name: str) -> Response:
    return await guarded(request, SUPERVISORS, "flow_edit.html", "flows", title=f"Flow {name}", flow_name=name)


@router.get("/admin", response_class=HTMLResponse)
async def admin_index(request: Request) -> Response:
    return await guarded(request, ADMINS, "admin.html", "admin", title="Admin", sections=ADMIN_SECTIONS,
                         section=None)


@router.get("/admin/{section}", response_class=HTMLResponse)
async def admin_section(request: Request, section: str) -> Response:
    if section not in ADMIN_SECTIONS:
        return await guarded(request, ADMINS, "error.html", "admin", status_code=status.HTTP_404_NOT_FOUND,
                             title="Not found", message="There is no such admin page.")
    extra: dict[str, Any] = {}
    if section == "users":  # rows in the page itself: listing and deleting work without scripts
        user = await page_user(request)
        if user is not None and user.role is Role.ADMIN:
            extra["accounts"] = await container_of(request).web.users.accounts()
        deleted = request.query_params.get("deleted", "")[:64]
        # said only when true: a link cannot make the page announce a deletion that did not happen
        if deleted and "accounts" in extra and all(u.username != deleted for u, _ in extra["accounts"]):
            extra["notice"] = f"User {deleted} deleted; the audit log keeps the name."
    return await guarded(request, ADMINS, "admin.html", "admin", title=f"Admin: {ADMIN_SECTIONS[section]}",
                         sections=ADMIN_SECTIONS, section=section, **extra)
