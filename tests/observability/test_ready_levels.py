"""``/ready``: 503 only when this node cannot take calls (database down, no telephony listener);
200 "degraded" naming what else is down; the recorded ``ivr asterisk check`` as a detail."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from ivr.channels.agi.plugin import AgiDomain
from ivr.channels.agi.server import AgiServer
from ivr.channels.sip.audio import AudioLibrary
from ivr.channels.sip.endpoint import SipEndpoint
from ivr.channels.sip.plugin import SipDomain
from ivr.db import Database
from ivr.observability.health import ASTERISK_CHECK_FILE, Check, readiness
from ivr.settings import AgiSettings, SipSettings
from tests.support.app import app_for, make_container
from tests.support.app import test_settings as cheap_settings


async def _ready(container: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/ready")


def test_readiness_levels() -> None:
    ok: Check = {"ok": True}
    down: Check = {"ok": False}
    assert readiness({"database": ok, "telephony": ok, "ami": ok}) == ("ready", 200)
    assert readiness({"database": ok, "telephony": ok, "ami": down}) == ("degraded", 200)
    assert readiness({"database": ok, "telephony": ok, "asterisk_config": down}) == ("degraded", 200)
    assert readiness({"database": down, "telephony": ok}) == ("not ready", 503)
    assert readiness({"database": ok, "telephony": down, "mqtt": ok}) == ("not ready", 503)


async def test_a_telephony_listener_that_is_down_is_not_ready(sqlite_db: Database, tmp_path: Path) -> None:
    container = await make_container(sqlite_db, settings=cheap_settings(agi={"enabled": False},
                                                                        sip={"enabled": False}))

    async def no_calls(channel: object) -> None:
        raise AssertionError("no call is expected")

    sip = SipEndpoint(SipSettings(host="127.0.0.1", port=0, rtp_port_min=0), handler=no_calls,
                      audio=AudioLibrary(lambda key: tmp_path / f"{key}.wav"))
    container = replace(container, sip=SipDomain(sip))
    before = await _ready(container)
    assert before.status_code == 503
    assert before.json()["checks"]["telephony"] == {"ok": False, "configured": True, "listening": {"sip": False}}
    started = asyncio.Event()
    task = asyncio.create_task(sip.run(started), name="sip")
    try:
        async with asyncio.timeout(10):
            await started.wait()
        after = await _ready(container)
        assert after.status_code == 200 and after.json()["status"] == "ready"
        assert after.json()["checks"]["telephony"]["listening"] == {"sip": True}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (await _ready(container)).status_code == 503


async def test_the_recorded_asterisk_check_is_a_readiness_detail(sqlite_db: Database, tmp_path: Path) -> None:
    container = await make_container(sqlite_db, settings=cheap_settings(var_dir=tmp_path))
    assert "asterisk_config" not in (await _ready(container)).json()["checks"]  # none recorded
    record = tmp_path / ASTERISK_CHECK_FILE
    lines = [f"/etc/asterisk/modules.conf:{n}: res_speech is not loaded — add 'load => res_speech.so'"
             for n in range(7)]
    record.write_text(json.dumps({"checked_at": "2026-12-06T04:00:00+00:00", "problems": lines}))
    ready = await _ready(container)
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded" and ready.json()["down"] == ["asterisk_config"]
    assert ready.json()["checks"]["asterisk_config"] == {
        "ok": False, "checked_at": "2026-12-06T04:00:00+00:00", "problems": 7, "first": lines[:5]}
    record.write_text(json.dumps({"checked_at": "2026-12-06T04:05:00+00:00", "problems": []}))
    assert (await _ready(container)).json()["status"] == "ready"
    record.write_text("{not json")
    broken = (await _ready(container)).json()["checks"]["asterisk_config"]
    assert broken == {"ok": False, "error": f"{ASTERISK_CHECK_FILE} unreadable: JSONDecodeError"}


async def test_the_fastagi_server_counts_as_the_telephony_listener(sqlite_db: Database) -> None:
    container = await make_container(sqlite_db, settings=cheap_settings(agi={"enabled": False},
                                                                        sip={"enabled": False}))
    agi = AgiServer(AgiSettings(host="127.0.0.1", port=0), engine=None)
    container = replace(container, agi=AgiDomain(agi, audiosocket=None))
    assert (await _ready(container)).status_code == 503
    await agi.start()
    try:
        ready = await _ready(container)
        assert ready.status_code == 200
        assert ready.json()["checks"]["telephony"]["listening"] == {"agi_server": True}
    finally:
        await agi.shutdown(0)
