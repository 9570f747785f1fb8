from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from ivr.calls.store import CallStore
from ivr.channel import Backend, CallInfo
from ivr.db import Database
from ivr.events.types import NodeEntered
from ivr.ports import Disposition
from tests.support.calls_api import AUTH, staff_client

Client = tuple[httpx.AsyncClient, dict[str, str]]


@pytest.fixture
async def client(sqlite_db: Database) -> AsyncIterator[Client]:
    async with staff_client(sqlite_db) as (http, container):
        store: CallStore = container.calls.store
        info = CallInfo(call_id="1763900000.7", caller="+34911234567", dialled="900100200", backend=Backend.AGI,
                        started_at=datetime.now(UTC))
        await store.call_started(info, flow="support", language="es")
        store.publish(NodeEntered(call_id=info.call_id, flow="support", node="main_menu", node_kind="menu"))
        await store.call_ended(info.call_id, Disposition.COMPLETED)
        yield http, AUTH


ENDPOINTS = ["/api/v1/calls", "/api/v1/calls/1763900000.7", "/api/v1/calls/by-number/+34911234567"]
ALLOWED = {
    "/api/v1/calls": {"admin", "supervisor"},
    "/api/v1/calls/1763900000.7": {"admin", "supervisor", "agent"},
    "/api/v1/calls/by-number/+34911234567": {"admin", "supervisor", "agent"},
}


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_authorisation_matrix(client: Client, path: str) -> None:
    http, auth = client
    for role in ("admin", "supervisor", "agent", None):
        r = await http.get(path, headers={"Authorization": auth[role]} if role else {})
        expected = 401 if role is None else 200 if role in ALLOWED[path] else 403
        assert r.status_code == expected, (role, r.text)


async def test_list_show_and_history(client: Client) -> None:
    http, auth = client
    headers = {"Authorization": auth["supervisor"]}
    listed = (await http.get("/api/v1/calls", params={"limit": 5}, headers=headers)).json()
    assert [c["call_id"] for c in listed] == ["1763900000.7"] and "events" not in listed[0]
    shown = (await http.get("/api/v1/calls/1763900000.7", headers=headers)).json()
    assert shown["disposition"] == "completed" and shown["events"][0]["node"] == "main_menu"
    history = (await http.get("/api/v1/calls/by-number/+34911234567", headers=headers)).json()
    assert [c["call_id"] for c in history] == ["1763900000.7"]
    assert (await http.get("/api/v1/calls/nope", headers=headers)).status_code == 404
    naive = await http.get("/api/v1/calls", params={"since": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422
    none_since = await http.get("/api/v1/calls", params={"since": "2999-01-01T00:00:00Z"}, headers=headers)
    assert none_since.json() == []
