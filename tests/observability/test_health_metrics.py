from __future__ import annotations

from pathlib import Path

import httpx

from ivr.db import Database
from ivr.events.types import CallEnded, CallStarted, QueueLeft
from tests.support.app import app_for, make_container
from tests.support.app import test_settings as cheap_settings  # aliased: pytest would collect test_*


async def test_health_ready_and_metrics(sqlite_db: Database) -> None:
    container = await make_container(sqlite_db)
    container.bus.publish(CallStarted(call_id="c1", dialled="900", backend="agi", flow="support"))
    container.bus.publish(QueueLeft(call_id="c1", queue="billing", outcome="connected", waited_seconds=15,
                                    ewt_predicted=25, within_service_level=True))
    # two answered callers who heard a band: 100 s said "less than 4 min" (waited 90 s: in band, within 25%),
    # 300 s said "about 5 min" = 200..400 s (waited 500 s after hearing it: outside both)
    container.bus.publish(QueueLeft(call_id="c2", queue="billing", outcome="connected", waited_seconds=95,
                                    ewt_announced=100, ewt_band_low=0, ewt_band_high=240,
                                    waited_after_announcement=90))
    container.bus.publish(QueueLeft(call_id="c3", queue="billing", outcome="connected", waited_seconds=500,
                                    ewt_announced=300, ewt_band_low=200, ewt_band_high=400,
                                    waited_after_announcement=500))
    container.bus.publish(CallEnded(call_id="c1", disposition="connected", duration_seconds=200))
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"] == {"ok": True}
        assert ready.json()["checks"]["mqtt"]["configured"] is False
        text = (await client.get("/metrics")).text
    assert 'puente_calls_started_total{backend="agi"} 1.0' in text
    assert 'puente_queue_answered_within_service_level_total{queue="billing"} 1.0' in text
    assert 'puente_ewt_abs_error_seconds_sum{queue="billing"} 10.0' in text
    assert 'puente_calls_ended_total{disposition="connected"} 1.0' in text
    assert 'puente_ewt_announced_answered_total{queue="billing"} 2.0' in text
    assert 'puente_ewt_within_band_total{queue="billing"} 1.0' in text
    assert 'puente_ewt_within_25_percent_total{queue="billing"} 1.0' in text
    assert 'puente_ewt_accuracy_today{figure="within_band_ratio",queue="billing"} 0.5' in text
    assert 'puente_ewt_accuracy_today{figure="mae_seconds",queue="billing"} 105.0' in text  # (10 + 200) / 2


async def test_ready_reports_each_dependency_when_down(tmp_path: Path) -> None:
    settings = cheap_settings(mqtt={"url": "mqtt://127.0.0.1:1"})
    from tests.support.database import sqlite_database

    async with sqlite_database(tmp_path) as sdb:
        container = await make_container(sdb, settings=settings)
        transport = httpx.ASGITransport(app=app_for(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/ready")
    assert ready.status_code == 200  # events wait in the buffer: calls are not affected
    assert ready.json()["status"] == "degraded" and ready.json()["down"] == ["mqtt"]
    assert ready.json()["checks"]["mqtt"] == {"ok": False, "configured": True, "connected": False}
    assert ready.json()["checks"]["database"]["ok"] is True
