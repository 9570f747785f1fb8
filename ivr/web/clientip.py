"""The client's address, one function for every per-IP limit (login throttle, ``/c/<token>`` pages).

Forwarded headers are believed only from the proxies in ``http.trusted_proxies`` (default: none).
The app installs uvicorn's ``ProxyHeadersMiddleware`` with exactly that list (see
:func:`api.app.create_app`), and the uvicorn server itself trusts no one (``proxy_headers=False``:
by default it would believe ``X-Forwarded-For`` from 127.0.0.1, so any local client could pick its
own address). By the time a route runs, ``request.client`` is the real client.
"""

from __future__ import annotations

from starlette.requests import Request

UNKNOWN = "unknown"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else UNKNOWN
