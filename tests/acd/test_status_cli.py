"""``ivr queues status --json`` itself: every documented figure, per shipped queue, from the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from ivr.acd.cli import queues as queues_cli
from ivr.acd.store import AcdStore, ContactRecord
from ivr.db import Database, utcnow
from ivr.settings import Settings

FIGURES = {"waiting", "longest_wait_seconds", "ewt_seconds", "agents", "service_level", "abandon_rate",
           "asa_seconds", "ewt_mae_seconds", "ewt_samples", "handled", "abandoned", "period_hours", "ewt_accuracy",
           "short_abandoned", "abandon_percent", "ewt", "thresholds", "levels"}


async def test_status_json_reports_every_figure_per_queue(sqlite_db: Database, tmp_path: Path) -> None:
    store = AcdStore(sqlite_db)
    now = utcnow()
    await store.record_contact(ContactRecord("e1", "c1", "support", "call", now, now, now, "connected", 10.0))
    await store.record_contact(ContactRecord("e2", "c2", "support", "call", now, now, now, "connected", 50.0))
    await store.record_contact(ContactRecord("e3", "c3", "support", "call", now, now, now, "abandoned", 70.0))
    settings = Settings(database_url=sqlite_db.url, var_dir=tmp_path)
    result = await asyncio.to_thread(CliRunner().invoke, queues_cli, ["status", "--json", "--hours", "1"],
                                     obj=settings, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert {"billing", "support", "general"} <= set(status)
    for figures in status.values():
        assert set(figures) == FIGURES
        assert set(figures["agents"]) == {"offline", "available", "ringing", "busy", "wrap_up", "away"}
    support = status["support"]
    assert (support["handled"], support["abandoned"], support["waiting"]) == (2, 1, 0)
    assert support["abandon_rate"] == round(1 / 3, 3) and support["asa_seconds"] == 30.0
    # 10 s within the 20 s target; 50 s not; the caller who gave up after 70 s counts against it
    assert support["service_level"]["achieved_percent"] == 33.3
    assert sum(support["agents"].values()) >= 1  # the shipped agents were saved, by state
    assert status["billing"]["handled"] == 0 and status["billing"]["abandon_rate"] is None
