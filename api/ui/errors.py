"""Error answers in the UI's own style: a person who opens a wrong ``/ui/...`` address, is not allowed,
or meets a server fault gets an HTML page with the navigation, never raw JSON or plain text. The JSON
API keeps its JSON answers (FastAPI's own shape)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.ui.routes import page_user, render

log = logging.getLogger(__name__)

TITLES = {
    status.HTTP_403_FORBIDDEN: ("Not allowed", "Your role does not open this page."),
    status.HTTP_404_NOT_FOUND: ("Page not found", "There is no page at this address."),
    status.HTTP_405_METHOD_NOT_ALLOWED: ("Not possible here", "This address does not take that kind of request."),
}


def wants_page(request: Request) -> bool:
    return request.url.path == "/ui" or request.url.path.startswith("/ui/")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not wants_page(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    title, message = TITLES.get(exc.status_code, ("Something went wrong", "The request could not be served."))
    user = await page_user(request)
    page = render(request, "error.html", user=user, status_code=exc.status_code, title=title, message=message,
                  path=request.url.path)
    page.headers.update(exc.headers or {})
    return page


async def server_error(request: Request, exc: Exception) -> Response:
    """Unexpected faults: one log line with the trace, and a page that says what to do next. No user
    lookup here: the fault may be the database itself."""
    log.error("request failed", exc_info=exc, extra={"path": request.url.path, "method": request.method})
    if not wants_page(request):
        return JSONResponse({"detail": "internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return render(request, "error.html", user=None, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
                  title="Server error", message="The server met a fault while preparing this page. It has been "
                  "logged; try again, and tell your administrator if it happens again.", path=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)
