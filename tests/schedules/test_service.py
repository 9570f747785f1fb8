"""Overrides in the database, their cache, and the `ivr schedules` CLI."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.db import Database
from ivr.schedules.model import ScheduleBook, ScheduleState
from ivr.schedules.service import ScheduleService
from ivr.settings import PROJECT_ROOT

BOOK = ScheduleBook.load(PROJECT_ROOT / "dialplan" / "schedules.yaml")
MONDAY_10 = datetime.fromisoformat("2026-01-12T10:00+01:00")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_status_follows_rules_without_override(database: Database) -> None:
    service = ScheduleService(BOOK, database, clock=Clock(MONDAY_10))
    status = await service.status("support")
    assert status.state is ScheduleState.OPEN and status.source == "rules"
    assert service.names() == ["always", "support"]
    assert service.next_open("support", datetime.fromisoformat("2026-01-12T21:00+01:00")) == datetime.fromisoformat(
        "2026-01-13T08:00+01:00")


async def test_override_set_expires_and_clears(database: Database) -> None:
    clock = Clock(MONDAY_10)
    service = ScheduleService(BOOK, database, clock=clock)
    until = MONDAY_10 + timedelta(hours=2)
    override = await service.set_override("support", "closed", until=until, reason="power cut")
    assert override.state is ScheduleState.CLOSED and override.until == until
    status = await service.status("support")
    assert (status.state, status.reason, status.source, status.next_change) == (
        ScheduleState.CLOSED, "power cut", "override", until)
    # after the end time the rules apply again, without anyone clearing it
    later = await service.status("support", MONDAY_10 + timedelta(hours=3))
    assert (later.state, later.source) == (ScheduleState.OPEN, "rules")
    assert (await service.get_override("support")) is not None
    # a new override replaces the old one; clear removes it
    await service.set_override("support", ScheduleState.OPEN)
    sunday = await service.status("support", datetime.fromisoformat("2026-01-18T12:00+01:00"))
    assert (sunday.state, sunday.reason) == (ScheduleState.OPEN, "forced open")
    assert [o.state for o in await service.overrides()] == [ScheduleState.OPEN]
    assert await service.clear_override("support") is True
    assert await service.clear_override("support") is False
    assert (await service.status("support", datetime.fromisoformat("2026-01-18T12:00+01:00"))).source == "rules"


async def test_override_validation(database: Database) -> None:
    service = ScheduleService(BOOK, database, clock=Clock(MONDAY_10))
    with pytest.raises(ValueError, match="in the past"):
        await service.set_override("support", "closed", until=MONDAY_10 - timedelta(minutes=1))
    with pytest.raises(ValueError, match="timezone"):
        await service.set_override("support", "closed", until=datetime(2026, 1, 12, 18))
    with pytest.raises(ValueError, match="open or closed"):
        await service.set_override("support", "holiday")
    with pytest.raises(LookupError):
        await service.set_override("nope", "closed")


async def test_override_from_another_process_reaches_the_server_within_the_cache_time(database: Database) -> None:
    server = ScheduleService(BOOK, database, cache_seconds=0.2)
    cli = ScheduleService(BOOK, database, cache_seconds=0)
    assert (await server.status("always")).state is ScheduleState.OPEN  # now cached
    await cli.set_override("always", "closed", reason="emergency")
    deadline = asyncio.get_running_loop().time() + 20  # 0.2 s when healthy; generous for a loaded CI machine
    while (status := await server.status("always")).source != "override":
        assert asyncio.get_running_loop().time() < deadline, "override not seen within 20 s"
        await asyncio.sleep(0.05)
    assert (status.state, status.reason) == (ScheduleState.CLOSED, "emergency")


async def test_status_fails_open_when_the_database_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables
    try:
        service = ScheduleService(BOOK, db, clock=Clock(MONDAY_10))
        with caplog.at_level(logging.ERROR, logger="ivr.schedules"):
            status = await service.status("support")
        assert status.state is ScheduleState.OPEN and status.source == "rules"
        assert any("cannot read schedule overrides" in r.getMessage() for r in caplog.records)
    finally:
        await db.dispose()


# ---------------------------------------------------------------------- CLI
async def _cli(url: str, *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, ["schedules", *args], env={"IVR_DATABASE_URL": url})
    return result.exit_code, result.output


async def test_cli_check_override_clear(sqlite_db: Database) -> None:
    url = sqlite_db.url
    code, out = await _cli(url, "check", "support", "--at", "2026-01-06T11:00+01:00", "--json")
    assert code == 0, out
    assert json.loads(out) == {"schedule": "support", "state": "holiday", "reason": "Epifanía del Señor",
                               "next_change": "2026-01-06T23:00:00+00:00", "source": "rules"}
    code, out = await _cli(url, "check", "--at", "2026-01-12T10:00+01:00")
    assert code == 0 and "support" in out and "OPEN" in out and "always" in out
    assert "next change 2026-01-12 20:00 Mon Europe/Madrid (19:00Z)" in out
    code, out = await _cli(url, "check", "support", "--at", "2026-01-05T12:00+01:00", "--days", "2", "--json")
    week = json.loads(out)
    assert [(c["at"], c["state"]) for c in week["changes"]] == [
        ("2026-01-05T11:00:00+00:00", "open"), ("2026-01-05T19:00:00+00:00", "closed"),
        ("2026-01-05T23:00:00+00:00", "holiday"), ("2026-01-06T23:00:00+00:00", "closed"),
        ("2026-01-07T07:00:00+00:00", "open")]
    code, out = await _cli(url, "check", "support", "--at", "2026-01-05T12:00+01:00", "--days", "2")
    assert code == 0 and "2026-01-06 00:00 Tue Europe/Madrid (23:00Z)  HOLIDAY  Epifanía del Señor" in out
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    code, out = await _cli(url, "override", "support", "closed", "--until", until, "--reason", "fire drill")
    assert code == 0, out
    assert "CLOSED" in out and "fire drill" in out and "[override]" in out
    code, out = await _cli(url, "list")
    assert code == 0 and "fire drill" in out
    code, out = await _cli(url, "clear", "support")
    assert code == 0 and "override cleared" in out


async def test_cli_errors_are_clear(sqlite_db: Database) -> None:
    code, out = await _cli(sqlite_db.url, "check", "support", "--at", "tomorrow")
    assert code != 0 and "not ISO 8601" in out
    code, out = await _cli(sqlite_db.url, "check", "support", "--at", "2026-01-06T11:00")
    assert code != 0 and "UTC offset" in out
    code, out = await _cli(sqlite_db.url, "override", "nope", "closed")
    assert code != 0 and "unknown schedule 'nope'" in out
    code, out = await _cli(sqlite_db.url, "override", "support", "closed", "--until", "2020-01-01T00:00Z")
    assert code != 0 and "in the past" in out
