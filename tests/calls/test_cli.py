from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from click.testing import CliRunner

from ivr.calls.store import CallStore
from ivr.channel import Backend, CallInfo
from ivr.cli import main
from ivr.db import Database
from ivr.events import EventBus
from ivr.events.types import InputReceived, NodeEntered
from ivr.ports import Disposition


async def _record(db: Database) -> None:
    store = CallStore(db, EventBus())
    info = CallInfo(call_id="1763900000.42", caller="+34911234567", dialled="900100200", backend=Backend.SIP,
                    started_at=datetime.now(UTC))
    await store.call_started(info, flow="support", language="es")
    store.publish(NodeEntered(call_id=info.call_id, flow="support", node="main_menu", node_kind="menu"))
    store.publish(InputReceived(call_id=info.call_id, node="main_menu", mode="speech", digits="3",
                                transcript="my number is +34911234567"))
    await store.call_ended(info.call_id, Disposition.COMPLETED)


async def _invoke(db: Database, *args: str) -> str:
    runner = CliRunner()
    # the CLI runs its own event loop: call it from a worker thread
    result = await asyncio.to_thread(runner.invoke, main, ["calls", *args], env={"IVR_DATABASE_URL": db.url},
                                     catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def test_calls_list_and_show_json(sqlite_db: Database) -> None:
    await _record(sqlite_db)
    listed = json.loads(await _invoke(sqlite_db, "list", "--json"))
    assert [c["call_id"] for c in listed] == ["1763900000.42"]
    assert listed[0]["caller"] == "+34911234567" and listed[0]["disposition"] == "completed"
    assert "events" not in listed[0]
    shown = json.loads(await _invoke(sqlite_db, "show", "1763900000.42", "--json"))
    assert [e["kind"] for e in shown["events"]] == ["node_entered", "input"]
    assert shown["events"][1]["data"]["digits"] == "3"
    assert json.loads(await _invoke(sqlite_db, "list", "--json", "--caller", "+34000")) == []


async def test_calls_text_output_masks_numbers(sqlite_db: Database) -> None:
    await _record(sqlite_db)
    listed = await _invoke(sqlite_db, "list", "--limit", "5")
    shown = await _invoke(sqlite_db, "show", "1763900000.42")
    for out in (listed, shown):
        assert "+34911234567" not in out
        assert "4567" in out  # the masked form keeps the tail
    assert "main_menu" in shown and "timeline:" in shown


async def test_calls_show_unknown_id_fails(sqlite_db: Database) -> None:
    # sqlite_db is a copy of the session's migrated template: no migration run per test
    result = await asyncio.to_thread(CliRunner().invoke, main, ["calls", "show", "nope"],
                                     env={"IVR_DATABASE_URL": sqlite_db.url})
    assert result.exit_code != 0
    assert "no call 'nope'" in result.output


async def test_calls_purge(sqlite_db: Database) -> None:
    await _record(sqlite_db)  # ended just now: kept
    out = await _invoke(sqlite_db, "purge", "--older-than", "30", "--yes")
    assert out.strip() == "deleted 0 calls"
    runner = CliRunner()
    refused = await asyncio.to_thread(runner.invoke, main, ["calls", "purge", "--older-than", "30"], input="n\n",
                                      env={"IVR_DATABASE_URL": sqlite_db.url})
    assert refused.exit_code != 0 and "Aborted" in refused.output
