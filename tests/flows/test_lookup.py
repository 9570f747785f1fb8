"""Order lookup: the demo table and the HTTP client against a local server (port 0)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from ivr.flows.lookup import DemoOrderLookup, HttpOrderLookup, LookupFailed, OrderStatus, build_lookup


async def test_demo_table() -> None:
    lookup = DemoOrderLookup()
    assert await lookup.status("123456") == OrderStatus.SHIPPED.value
    assert await lookup.status("100004") == "delivered"
    assert await lookup.status("000000") is None
    assert {await lookup.status(o) for o in ("100001", "100002", "100003", "100004")} == {s.value for s in OrderStatus}


def test_build_lookup_is_off_unless_configured() -> None:
    assert build_lookup(None) is None  # production default: no made-up orders
    assert isinstance(build_lookup(None, demo=True), DemoOrderLookup)
    assert isinstance(build_lookup("http://127.0.0.1:1/orders"), HttpOrderLookup)
    assert isinstance(build_lookup("http://127.0.0.1:1/orders", demo=True), HttpOrderLookup)  # the URL wins


Reply = Callable[[str], Awaitable[tuple[int, bytes]]]


@dataclass
class TinyHttp:
    """A one-request-per-connection HTTP server on 127.0.0.1, port 0."""

    reply: Reply
    paths: list[str] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            self.paths.append(path)
            status, body = await self.reply(path)
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/orders"


@pytest.fixture
async def http() -> AsyncIterator[TinyHttp]:
    release = asyncio.Event()

    async def reply(path: str) -> tuple[int, bytes]:
        order = path.rsplit("/", 1)[1]
        if order == "123456":
            return 200, json.dumps({"status": "in_transit", "eta": "tomorrow"}).encode()
        if order == "500000":
            return 500, b"{}"
        if order == "777777":
            return 200, b"not json"
        if order == "888888":
            return 200, json.dumps({"state": "shipped"}).encode()
        if order == "999999":
            await release.wait()  # never answers in time
            return 200, b"{}"
        return 404, b'{"error": "no such order"}'

    srv = TinyHttp(reply)
    srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    try:
        yield srv
    finally:
        release.set()
        srv.server.close()
        await srv.server.wait_closed()


async def test_http_found(http: TinyHttp) -> None:
    assert await HttpOrderLookup(http.url).status("123456") == "in_transit"
    assert http.paths == ["/orders/123456"]


async def test_http_not_found(http: TinyHttp) -> None:
    assert await HttpOrderLookup(http.url).status("654321") is None


@pytest.mark.parametrize("order", ["500000", "777777", "888888"])
async def test_http_bad_answers_fail(http: TinyHttp, order: str) -> None:
    with pytest.raises(LookupFailed):
        await HttpOrderLookup(http.url).status(order)


async def test_http_timeout_fails(http: TinyHttp) -> None:
    with pytest.raises(LookupFailed, match="Timeout"):
        await HttpOrderLookup(http.url, timeout=0.2).status("999999")


async def test_http_connection_refused_fails(http: TinyHttp) -> None:
    url = http.url
    assert http.server is not None
    http.server.close()
    await http.server.wait_closed()
    with pytest.raises(LookupFailed):
        await HttpOrderLookup(url, timeout=1.0).status("123456")


async def test_http_never_puts_odd_text_in_the_url(http: TinyHttp) -> None:
    assert await HttpOrderLookup(http.url).status("../admin") is None
    assert http.paths == []
