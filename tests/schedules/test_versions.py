"""Publishing schedules documents: validation, live reload, rollback (service, CLI and API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.db import Database
from ivr.schedules.errors import ScheduleError
from ivr.schedules.model import ScheduleBook, ScheduleState
from ivr.schedules.service import ScheduleService
from ivr.settings import PROJECT_ROOT
from tests.support.calls_api import AUTH, staff_client

SHIPPED = PROJECT_ROOT / "dialplan" / "schedules.yaml"
SUNDAY_NOON = datetime.fromisoformat("2026-01-18T12:00+01:00")
WITH_SUNDAYS = SHIPPED.read_text(encoding="utf-8").replace(
    'sat: ["09:00-14:00"]', 'sat: ["09:00-14:00"]\n      sun: ["10:00-13:00"]')


async def test_publish_reaches_a_running_server_and_rolls_back(database: Database) -> None:
    server = ScheduleService(ScheduleBook.load(SHIPPED), database, cache_seconds=0.1)
    admin = ScheduleService(ScheduleBook.load(SHIPPED), database, cache_seconds=0)
    assert (await server.status("support", SUNDAY_NOON)).state is ScheduleState.CLOSED
    assert await admin.document() == (0, SHIPPED.read_text(encoding="utf-8"))

    v1 = await admin.publish(WITH_SUNDAYS, by="ana", comment="open on Sunday mornings")
    assert v1 == 1
    deadline = asyncio.get_running_loop().time() + 20  # 0.1 s when healthy; generous for a loaded CI machine
    while (await server.status("support", SUNDAY_NOON)).state is not ScheduleState.OPEN:
        assert asyncio.get_running_loop().time() < deadline, "published schedules not picked up"
        await asyncio.sleep(0.05)

    v2 = await admin.publish(SHIPPED.read_text(encoding="utf-8"), by="ana")
    v3 = await admin.rollback(v1, by="bob")
    assert (v2, v3) == (2, 3)
    versions = await admin.versions()
    assert [(v.version, v.published_by, v.comment) for v in versions] == [
        (3, "bob", "rollback to version 1"), (2, "ana", None), (1, "ana", "open on Sunday mornings")]
    assert (await admin.status("support", SUNDAY_NOON)).state is ScheduleState.OPEN
    assert await admin.document() == (3, WITH_SUNDAYS)
    with pytest.raises(LookupError):
        await admin.rollback(99)


async def test_invalid_documents_are_refused_and_change_nothing(sqlite_db: Database) -> None:
    service = ScheduleService(ScheduleBook.load(SHIPPED), sqlite_db, cache_seconds=0)
    bad = WITH_SUNDAYS.replace('sun: ["10:00-13:00"]', 'sun: ["10:00-10:00"]')
    with pytest.raises(ScheduleError, match=r"schedule 'support': hours 'sun': '10:00-10:00' is empty"):
        await service.publish(bad)
    with pytest.raises(ScheduleError, match="invalid YAML"):
        await service.publish("schedules: [")
    await service.set_override("always", "closed")
    only_support = "schedules:\n  support:\n    timezone: UTC\n    hours: {daily: '00:00-24:00'}\n"
    with pytest.raises(ScheduleError, match="always have overrides; clear them first"):
        await service.publish(only_support)
    assert await service.versions() == []
    await service.clear_override("always")
    assert await service.publish(only_support) == 1
    assert service.names() == ["support"]


async def test_cli_publish_versions_rollback(sqlite_db: Database, tmp_path: Path) -> None:
    doc = tmp_path / "schedules.yaml"
    doc.write_text(WITH_SUNDAYS, encoding="utf-8")

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["schedules", *args], env={"IVR_DATABASE_URL": sqlite_db.url})
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(invoke, "versions")
    assert code == 0 and "nothing published" in out
    code, out = await asyncio.to_thread(invoke, "publish", str(doc), "--comment", "sundays")
    assert code == 0 and "published schedules version 1" in out, out
    code, out = await asyncio.to_thread(invoke, "check", "support", "--at", SUNDAY_NOON.isoformat())
    assert code == 0 and "OPEN" in out
    code, out = await asyncio.to_thread(invoke, "rollback", "1")
    assert code == 0 and "version 1 is live again as version 2" in out
    code, out = await asyncio.to_thread(invoke, "rollback", "7")
    assert code != 0 and "no published schedules version 7" in out
    doc.write_text("schedules: {support: {timezone: Nowhere/City}}", encoding="utf-8")
    code, out = await asyncio.to_thread(invoke, "publish", str(doc))
    assert code != 0 and "unknown timezone 'Nowhere/City'" in out


@pytest.fixture
async def http(sqlite_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with staff_client(sqlite_db) as (client, _container):
        yield client


async def test_api_definition_publish_and_restore(http: httpx.AsyncClient) -> None:
    admin = {"Authorization": AUTH["admin"]}
    current = (await http.get("/api/v1/schedules/definition", headers=admin)).json()
    assert current["version"] == 0 and "Europe/Madrid" in current["document"]
    r = await http.put("/api/v1/schedules/definition", headers=admin,
                       json={"document": WITH_SUNDAYS, "comment": "sundays"})
    assert r.status_code == 200 and r.json()["version"] == 1
    sunday = (await http.get("/api/v1/schedules/support", params={"at": SUNDAY_NOON.isoformat()},
                             headers=admin)).json()
    assert sunday["state"] == "open"
    bad = await http.put("/api/v1/schedules/definition", headers=admin, json={"document": "schedules: {x: 1}"})
    assert bad.status_code == 422 and "schedule 'x'" in bad.text
    versions = (await http.get("/api/v1/schedules/versions", headers=admin)).json()
    assert [(v["version"], v["published_by"], v["comment"]) for v in versions] == [(1, "admin", "sundays")]
    restored = await http.post("/api/v1/schedules/versions/1/restore", headers=admin)
    assert restored.status_code == 200 and restored.json()["version"] == 2
    assert (await http.post("/api/v1/schedules/versions/9/restore", headers=admin)).status_code == 404


async def test_api_definition_authorisation(http: httpx.AsyncClient) -> None:
    cases = [
        ("GET", "/api/v1/schedules/definition", None, {"admin", "supervisor", "agent"}),
        ("PUT", "/api/v1/schedules/definition", {"document": WITH_SUNDAYS}, {"admin"}),
        ("GET", "/api/v1/schedules/versions", None, {"admin", "supervisor"}),
        ("POST", "/api/v1/schedules/versions/1/restore", None, {"admin"}),
    ]
    for method, path, body, allowed in cases:
        for role in ("agent", "supervisor", None, "admin"):
            r = await http.request(method, path, json=body, headers={"Authorization": AUTH[role]} if role else {})
            expected = 401 if role is None else 200 if role in allowed else 403
            assert r.status_code == expected, (method, path, role, r.text)
