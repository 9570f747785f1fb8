"""``/api/v1/callbacks`` with the real role checks (tokens from a table, as in the other API tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from callbacks.models import CallbackAttemptRow
from ivr.composition import Container
from ivr.context import ContextSnapshot
from ivr.db import Database, utcnow
from ivr.ports import CallbackRequest, CallbackSource
from ivr.web.auth import current_user
from tests.support.app import app_for, make_container
from tests.support.calls_api import AUTH, _user_from_table
from tests.support.calls_rows import record_call

Client = tuple[httpx.AsyncClient, Container]


@pytest.fixture
async def client(sqlite_db: Database) -> AsyncIterator[Client]:
    container = await make_container(sqlite_db)
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
    shown = await http.get(f"/api/v1/callbacks/{callback_id}", headers=as_("supervisor"))
    assert shown.status_code == 200 and shown.json()["attempts_log"] == []
    # booked by an agent but from no call of theirs: not their callback (see test_agents_see_only_their_own)
    assert (await http.get(f"/api/v1/callbacks/{callback_id}", headers=as_("agent"))).status_code == 404
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
    assert container.callbacks is not None and container.callbacks.script is not None
    assert any(getattr(c, "name", "") == "callbacks-dispatcher" for c in container.components)


def _snapshot(call_id: str) -> ContextSnapshot:
    return ContextSnapshot(call_id=call_id, caller="+34600111222", dialled="900", language="es", flow="support",
                           path=("main_menu",), inputs=(), variables={}, queue="support")


async def test_agents_see_only_their_own(client: Client, sqlite_db: Database) -> None:
    """Agent 1001 sees a callback asked for on a call it handled and one it dialled; not another
    agent's, not one from a call nobody answered; cancel/reschedule follow the same rule."""
    http, container = client
    service = container.callback_service
    assert service is not None
    await record_call(sqlite_db, "call-mine", agent_id="1001")
    await record_call(sqlite_db, "call-theirs", agent_id="2002")
    tickets = {}
    for name, number, context in (("mine", "600111221", _snapshot("call-mine")),
                                  ("theirs", "600111222", _snapshot("call-theirs")),
                                  ("nobody", "600111223", _snapshot("call-unanswered")),
                                  ("dialled", "600111224", None)):
        tickets[name] = (await service.request(CallbackRequest(number=number, queue="support",
                                                               source=CallbackSource.API, context=context))).callback_id
    async with sqlite_db.session() as s:
        s.add(CallbackAttemptRow(callback_id=tickets["dialled"], seq=1, started_at=utcnow(), mode="agent_first",
                                 agent_id="1001", dispatcher="test"))
    listed = (await http.get("/api/v1/callbacks", headers=as_("agent"))).json()
    assert sorted(c["id"] for c in listed) == sorted([tickets["mine"], tickets["dialled"]])
    everything = (await http.get("/api/v1/callbacks", headers=as_("supervisor"))).json()
    assert len(everything) == 4
    for name in ("theirs", "nobody"):
        cid = tickets[name]
        assert (await http.get(f"/api/v1/callbacks/{cid}", headers=as_("agent"))).status_code == 404
        assert (await http.post(f"/api/v1/callbacks/{cid}/cancel", headers=as_("agent"))).status_code == 404
        moved = await http.post(f"/api/v1/callbacks/{cid}/reschedule", json={"at": "2030-01-03T09:00:00+00:00"},
                                headers=as_("agent"))
        assert moved.status_code == 404
    assert (await http.get(f"/api/v1/callbacks/{tickets['mine']}", headers=as_("agent"))).status_code == 200
    cancelled = await http.post(f"/api/v1/callbacks/{tickets['mine']}/cancel", headers=as_("agent"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
