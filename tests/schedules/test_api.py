from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ivr.db import Database
from tests.support.calls_api import AUTH, staff_client

Client = tuple[httpx.AsyncClient, dict[str, str]]


@pytest.fixture
async def client(sqlite_db: Database) -> AsyncIterator[Client]:
    # The HTTP layer only: the service's behaviour on PostgreSQL is covered by test_service.py.
    async with staff_client(sqlite_db) as (http, _container):
        yield http, AUTH


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        ("GET", "/api/v1/schedules", None, {"admin", "supervisor", "agent"}),
        ("GET", "/api/v1/schedules/support", None, {"admin", "supervisor", "agent"}),
        ("PUT", "/api/v1/schedules/always/override", {"state": "closed"}, {"admin", "supervisor"}),
        ("DELETE", "/api/v1/schedules/always/override", None, {"admin", "supervisor"}),
    ],
)
async def test_authorisation_matrix(client: Client, method: str, path: str, body: dict[str, str] | None,
                                    allowed: set[str]) -> None:
    http, auth = client
    for role in ("admin", "supervisor", "agent", None):
        r = await http.request(method, path, json=body, headers={"Authorization": auth[role]} if role else {})
        expected = 401 if role is None else 200 if role in allowed else 403
        assert r.status_code == expected, (role, r.text)


async def test_status_override_and_clear(client: Client) -> None:
    http, auth = client
    headers = {"Authorization": auth["supervisor"]}
    holiday = (await http.get("/api/v1/schedules/support", params={"at": "2026-01-06T12:00:00+01:00"},
                              headers=headers)).json()
    assert (holiday["state"], holiday["reason"], holiday["timezone"]) == ("holiday", "Epifanía del Señor",
                                                                          "Europe/Madrid")
    assert holiday["rules"]["hours"]["sat"] == ["09:00-14:00"]
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await http.put("/api/v1/schedules/always/override", headers=headers,
                       json={"state": "closed", "until": until, "reason": "storm"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["state"], data["reason"], data["source"]) == ("closed", "storm", "override")
    assert data["override"]["until"] == datetime.fromisoformat(until).isoformat()
    listed = (await http.get("/api/v1/schedules", headers=headers)).json()
    assert {s["schedule"]: s["state"] for s in listed} == {"always": "closed", "support": listed[1]["state"]}
    cleared = (await http.delete("/api/v1/schedules/always/override", headers=headers)).json()
    assert (cleared["state"], cleared["override"]) == ("open", None)


async def test_errors(client: Client) -> None:
    http, auth = client
    headers = {"Authorization": auth["admin"]}
    assert (await http.get("/api/v1/schedules/nope", headers=headers)).status_code == 404
    missing = await http.put("/api/v1/schedules/nope/override", json={"state": "open"}, headers=headers)
    assert missing.status_code == 404
    assert (await http.delete("/api/v1/schedules/nope/override", headers=headers)).status_code == 404
    past = await http.put("/api/v1/schedules/always/override", headers=headers,
                          json={"state": "closed", "until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and "in the past" in past.text
    bad = await http.put("/api/v1/schedules/always/override", headers=headers, json={"state": "holiday"})
    assert bad.status_code == 422
    naive = await http.get("/api/v1/schedules/support", params={"at": "2026-01-06T12:00:00"}, headers=headers)
    assert naive.status_code == 422
