"""Order status lookup for the support flow: an HTTP service (``order_lookup_url``), a demo table
(``order_lookup_demo``, made-up orders for demonstrations), or none (the default: the flow's error
branch, "we cannot check it now", and an agent).

``HttpOrderLookup`` asks ``GET {url}/{order}`` and expects ``{"status": "shipped"}`` (404: no such
order). Anything else (timeout, refused connection, 5xx, bad JSON) raises :class:`LookupFailed`,
and the flow fails open: it tells the caller it could not check and offers an agent.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from typing import Protocol

import httpx

log = logging.getLogger(__name__)

_STATUS_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ORDER_RE = re.compile(r"^[0-9A-Za-z-]{1,32}$")


class OrderStatus(enum.StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"


class LookupFailed(Exception):
    """The lookup service could not answer (not the same as "no such order")."""


class OrderLookup(Protocol):
    async def status(self, order: str) -> str | None:
        """The order's status (an :class:`OrderStatus` value, or another lower-case token the
        service uses); None when there is no such order; raises :class:`LookupFailed`."""
        ...


DEMO_ORDERS: dict[str, OrderStatus] = {
    "100001": OrderStatus.PROCESSING,
    "100002": OrderStatus.SHIPPED,
    "100003": OrderStatus.IN_TRANSIT,
    "100004": OrderStatus.DELIVERED,
    "123456": OrderStatus.SHIPPED,
    "234567": OrderStatus.IN_TRANSIT,
    "345678": OrderStatus.DELIVERED,
    "456789": OrderStatus.PROCESSING,
    "567890": OrderStatus.IN_TRANSIT,
    "654321": OrderStatus.DELIVERED,
}


class DemoOrderLookup:
    """A fixed table of made-up orders: only when ``order_lookup_demo`` is on (never by default)."""

    def __init__(self, orders: dict[str, OrderStatus] | None = None) -> None:
        self._orders = dict(DEMO_ORDERS if orders is None else orders)

    async def status(self, order: str) -> str | None:
        found = self._orders.get(order)
        return found.value if found is not None else None


class HttpOrderLookup:
    def __init__(self, url: str, *, timeout: float = 2.0, client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client = client

    async def status(self, order: str) -> str | None:
        if not _ORDER_RE.match(order):
            return None  # never put arbitrary text into the URL
        url = f"{self.url}/{order}"
        try:
            if self._client is not None:
                response = await self._client.get(url, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(url)
        except httpx.HTTPError as exc:
            raise LookupFailed(f"order lookup failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if response.status_code != httpx.codes.OK:
            raise LookupFailed(f"order lookup answered HTTP {response.status_code}")
        return parse_status(response.content)


def parse_status(body: bytes) -> str:
    """``{"status": "shipped"}`` -> ``"shipped"``; anything else raises :class:`LookupFailed`."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise LookupFailed("order lookup answered invalid JSON") from exc
    status = data.get("status") if isinstance(data, dict) else None
    if not isinstance(status, str) or not _STATUS_RE.match(status.strip().lower()):
        raise LookupFailed(f"order lookup answered no usable status: {str(status)[:40]!r}")
    return status.strip().lower()


class LookupKind(enum.StrEnum):
    HTTP = "http"
    DEMO = "demo"
    OFF = "off"


def lookup_kind(url: str | None, demo: bool) -> LookupKind:
    """A configured URL wins over the demo table; neither: no lookup."""
    return LookupKind.HTTP if url else LookupKind.DEMO if demo else LookupKind.OFF


def build_lookup(url: str | None, *, demo: bool = False) -> OrderLookup | None:
    kind = lookup_kind(url, demo)
    if kind is LookupKind.HTTP and url:
        return HttpOrderLookup(url)
    return DemoOrderLookup() if kind is LookupKind.DEMO else None
