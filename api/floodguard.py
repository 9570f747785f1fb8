"""The HTTP flood guard: a raw ASGI middleware that refuses a flooding address before any routing.

The event loop that serves HTTP also answers SIP; a refusal that goes through FastAPI's routing,
dependencies and body parsing costs about a millisecond of it, so a client that sends fast enough
(wrong passwords, a script gone wrong) would take the loop by the sheer number of refusals. Here
two checks run on the ASGI scope alone, before the body is read:

- the address is over its request rate (``http.flood_rate`` per second, ``http.flood_burst`` at
  once): 429 with ``Retry-After``. The probes (/health, /ready, /metrics) have a bucket of their
  own per address, so monitoring from a flooding network still gets its answers;
- a sign-in POST from an address the login throttle is holding back (:mod:`api.login`): 429 with
  the throttle's ``Retry-After``, the same answer the route would give, without a request object.

The client address is the real one: uvicorn's proxy-headers middleware, when proxies are
configured, runs outside this one (see :func:`api.app.create_app`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from api.login import LoginGate, throttled_message
from ivr.floodguard import FloodGuard

PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
LOGIN_PATHS = frozenset({"/api/v1/auth/login", "/ui/login"})
_RATE_MESSAGE = "Too many requests from your address: slow down and try again in a moment."


@dataclass
class HttpFloodCounts:
    rate: int = 0  # refused: over the address's request rate
    login_locked: int = 0  # refused: a sign-in from an address the login throttle holds back


class HttpFloodCollector(Collector):
    def __init__(self, counts: HttpFloodCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        refused = CounterMetricFamily("puente_http_flood_refused", "HTTP requests refused (429) before routing",
                                      labels=["reason"])
        refused.add_metric(["rate"], self._counts.rate)
        refused.add_metric(["login_locked"], self._counts.login_locked)
        yield refused


class HttpFloodMiddleware:
    def __init__(self, app: ASGIApp, *, guard: FloodGuard, login: LoginGate,
                 counts: HttpFloodCounts) -> None:
        self.app = app
        self._guard = guard
        self._login = login
        self._counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        path: str = scope["path"]
        if not self._guard.admit((ip, path in PROBE_PATHS), ip):
            self._counts.rate += 1
            await _refuse(send, path, _RATE_MESSAGE, "1")
            return
        if scope["method"] == "POST" and path in LOGIN_PATHS:
            block = self._login.address_block(ip)
            if block is not None:
                self._counts.login_locked += 1
                await _refuse(send, path, throttled_message(block, "address"), block.retry_after_header)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, path: str, message: str, retry_after: str) -> None:
    if path.startswith("/ui"):  # a person at a browser: a page that says what to do
        body = (f'<!doctype html><meta charset="utf-8"><title>Slow down</title><p>{message}</p>'
                f'<p><a href="/ui/login">Back to sign in</a></p>').encode()
        kind = b"text/html; charset=utf-8"
    else:
        body, kind = json.dumps({"detail": message}).encode(), b"application/json"
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()), (b"retry-after", retry_after.encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
