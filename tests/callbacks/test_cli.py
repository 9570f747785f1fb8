"""``ivr callbacks ...`` end to end on a SQLite database."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner, Result

from ivr.cli import main
from ivr.db import Database


async def invoke(db: Database, *args: str) -> Result:
    runner = CliRunner()
    # the CLI runs its own event loop: call it from a worker thread
    return await asyncio.to_thread(runner.invoke, main, ["callbacks", *args], env={"IVR_DATABASE_URL": db.url})


async def test_create_list_show_reschedule_cancel(sqlite_db: Database) -> None:
    created = await invoke(sqlite_db, "create", "600 111 222", "--queue", "support", "--at", "2030-01-02T10:00:00Z")
    assert created.exit_code == 0, created.output
    callback_id = created.output.split()[0]
    assert "created" in created.output and "2030-01-02T10:00:00+00:00" in created.output
    merged = await invoke(sqlite_db, "create", "+34600111222", "--queue", "support", "--source", "agent")
    assert merged.exit_code == 0 and merged.output.split()[0] == callback_id and "merged" in merged.output

    listed = json.loads((await invoke(sqlite_db, "list", "--json", "--queue", "support")).output)
    assert [(c["id"], c["number"], c["state"]) for c in listed] == [(callback_id, "+34600111222", "pending")]
    text = (await invoke(sqlite_db, "list")).output
    assert callback_id in text and "+34600111222" not in text and "1 callbacks" in text  # masked
    assert json.loads((await invoke(sqlite_db, "list", "--json", "--state", "completed")).output) == []

    moved = await invoke(sqlite_db, "reschedule", callback_id, "--at", "2030-01-03T11:00:00+00:00")
    assert moved.exit_code == 0 and "scheduled" in moved.output
    shown = json.loads((await invoke(sqlite_db, "show", callback_id, "--json")).output)
    assert shown["due_at"] == "2030-01-03T11:00:00+00:00" and shown["attempts_log"] == []
    cancelled = await invoke(sqlite_db, "cancel", callback_id)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    again = await invoke(sqlite_db, "cancel", callback_id)
    assert again.exit_code == 1 and "already cancelled" in again.output


async def test_clear_errors(sqlite_db: Database) -> None:
    bad = await invoke(sqlite_db, "create", "12345", "--queue", "support")
    assert bad.exit_code == 1 and bad.output.startswith("Error: invalid number")  # people's words, no class name
    missing = await invoke(sqlite_db, "show", "nope")
    assert missing.exit_code == 1 and missing.output == "Error: no callback nope\n"
    unknown = await invoke(sqlite_db, "create", "+34600111222", "--queue", "nosuch")
    assert unknown.exit_code == 1 and unknown.output.splitlines() == [
        f"Error: no queue 'nosuch': the queues are billing, general, support ({unknown.output.split('(')[-1]}".rstrip()]
    listed = await invoke(sqlite_db, "list", "--json")
    assert json.loads(listed.output) == []  # nothing was created for the unknown queue
    when = await invoke(sqlite_db, "reschedule", "nope", "--at", "tomorrow")
    assert when.exit_code == 2 and "ISO" in when.output
