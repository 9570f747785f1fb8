"""Every domain wired as `ivr serve` does: `/metrics` covers what issue 10 lists, once each."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from ivr.composition import build_container
from ivr.db import Database
from tests.support.app import test_settings as cheap_settings  # aliased: pytest would collect test_*

# issue 10: calls, inputs by mode, queue waits, service level, abandons, EWT error, callbacks by
# outcome, deflections by stage, AGI/SIP errors (and the bus's protocol errors)
REQUIRED = {
    "puente_calls_started", "puente_calls_ended", "puente_inputs", "puente_queue_wait_seconds",
    "puente_queue_answered_within_service_level", "puente_queue_abandons", "puente_ewt_abs_error_seconds",
    "puente_callbacks", "puente_deflections", "puente_protocol_errors", "puente_agi_errors",
    "puente_sip_malformed",
}


async def test_all_domains_wired_expose_the_documented_metrics(sqlite_db: Database, tmp_path: Path) -> None:
    settings = cheap_settings(var_dir=tmp_path, database_url=sqlite_db.url, agi={"enabled": True},
                              sip={"enabled": True})
    container = await build_container(settings, db=sqlite_db)  # binds nothing: components start in `ivr serve`
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    families = [f.name for f in text_string_to_metric_families(response.text)]
    assert len(families) == len(set(families)), "a metric family is exported twice"
    assert set(families) >= REQUIRED, REQUIRED - set(families)
    # command latency: the AGI backend's round-trip histogram
    assert any(name.startswith("puente_agi_") and "command" in name for name in families)
