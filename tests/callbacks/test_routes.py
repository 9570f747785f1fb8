"""``/api/v1/callbacks`` with the real role checks (tokens from a table, as in the other API tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api import plugin as api_plugin
from api.security import current_user
from callbacks import plugin as callbacks_plugin
from ivr.composition import Container
from ivr.db import Database
from tests.support.app import app_for, make_container
from tests.support.calls_api import AUTH, _user_from_table

Client = tuple[httpx.AsyncClient, Container]


@pytest.fixture
async def client(sqlite_db: Database) -> AsyncIterator[Client]:
    container = await make_container(sqlite_db, wires=[callbacks_plugin.wire, api_plugin.wire])
    app = app_for(container)
    app.dependency_overrides[current_user] = _user_from_table
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http, container


def as_(role: str) -> dict[str, str]:
    return {"Authorization": AUTH[role]}


async def test_create_list_show_cancel_reschedule(client: Client) -> None:
    http, _ = client
    r = await http.post("/api/v1/callbacks", json={"number": "600111222", "queue": "support",
                                                  "at": "2030-01-02T10:00:00Z"}, headers=as_("agent"))
    assert r.status_code == 201, r.text
    callback_id = r.json()["callback_id"]
    assert r.json()["scheduled_for"].startswith("2030-01-02T10:00:00") and not r.json()["merged"]
    listed = (await http.get("/api/v1/callbacks", params={"queue": "support"}, headers=as_("supervisor"))).json()
    assert [(c["id"], c["number"], c["state"]) for c in listed] == [(callback_id, "+34600111222", "pending")]
    shown = await http.get(f"/api/v1/callbacks/{callback_id}", headers=as_("agent"))
    assert shown.status_code == 200 and shown.json()["attempts_log"] == []
    moved = await http.post(f"/api/v1/callbacks/{callback_id}/reschedule", json={"at": "2030-01-03T09:00:00+00:00"},
                            headers=as_("supervisor"))
    assert moved.status_code == 200 and moved.json()["state"] == "scheduled"
    cancelled = await http.post(f"/api/v1/callbacks/{callback_id}/cancel", headers=as_("admin"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert (await http.post(f"/api/v1/callbacks/{callback_id}/cancel", headers=as_("admin"))).status_code == 409
    assert (await http.get("/api/v1/callbacks/nope", headers=as_("admin"))).status_code == 404


async def test_validation_and_auth(client: Client) -> None:
    http, _ = client
    bad = await http.post("/api/v1/callbacks", json={"number": "12345", "queue": "support"}, headers=as_("agent"))
    assert bad.status_code == 422 and "invalid number" in bad.json()["detail"]
    naive = await http.post("/api/v1/callbacks", json={"number": "600111222", "queue": "support",
                                                      "at": "2030-01-02T10:00:00"}, headers=as_("agent"))
    assert naive.status_code == 422
    source = await http.post("/api/v1/callbacks", json={"number": "600111222", "queue": "support",
                                                       "source": "abandon"}, headers=as_("agent"))
    assert source.status_code == 422
    assert (await http.get("/api/v1/callbacks")).status_code == 401
    state = await http.get("/api/v1/callbacks", params={"state": "bogus"}, headers=as_("admin"))
    assert state.status_code == 422


async def test_plugin_registers_everything(client: Client) -> None:
    _, container = client
    assert "callback" in container.services["agi_scripts"]
    assert container.services["callbacks"] is not None
    assert any(getattr(c, "name", "") == "callbacks-dispatcher" for c in container.components)
