"""``ivr calls``: call records and their timelines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from ivr.calls.records import CallRecord
from ivr.calls.store import CallStore
from ivr.db.readiness import open_database
from ivr.events import EventBus
from ivr.logs import mask_number, mask_text
from ivr.settings import Settings

T = TypeVar("T")


def _with_store(settings: Settings, job: Callable[[CallStore], Awaitable[T]]) -> T:
    async def main() -> T:
        db = await open_database(settings)
        try:
            return await job(CallStore(db, EventBus()))
        finally:
            await db.dispose()

    return asyncio.run(main())


@click.group()
def calls() -> None:
    """Call records."""


@calls.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (numbers unmasked).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--caller", metavar="NUM", help="Only calls from this number.")
@click.pass_obj
def list_command(settings: Settings, as_json: bool, limit: int, caller: str | None) -> None:
    """The latest calls, newest first."""
    records = _with_store(settings, lambda store: store.list_calls(limit=limit, caller=caller))
    if as_json:
        click.echo(json.dumps([_summary(r) for r in records], ensure_ascii=False, indent=1))
        return
    for r in records:
        duration = f"{r.duration_seconds:7.1f}s" if r.duration_seconds is not None else "   live "
        click.echo(
            f"{r.started_at:%Y-%m-%d %H:%M:%S}  {r.call_id:<24} {mask_number(r.caller):<16} "
            f"{r.dialled:<10} {r.language:<3} {duration} {r.disposition or '-':<14} {r.queue or ''}"
            + (f"  ({r.legs} legs: resumed on another node)" if r.legs > 1 else "")
        )
    click.echo(f"{len(records)} calls")


@calls.command("show")
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (numbers unmasked).")
@click.pass_obj
def show_command(settings: Settings, call_id: str, as_json: bool) -> None:
    """One call with its timeline."""
    record = _with_store(settings, lambda store: store.get_call(call_id))
    if record is None:
        raise click.ClickException(f"no call {call_id!r}")
    if as_json:
        click.echo(json.dumps(record.to_dict(), ensure_ascii=False, indent=1))
        return
    for key, value in record.to_dict(mask=True).items():
        if key != "events":
            click.echo(f"{key:<17} {value if value is not None else '-'}")
    if record.legs > 1:  # one call, carried by several nodes (the earlier ones died)
        click.echo(f"{'resumed on':<17} {', '.join(record.resumed_on) or '-'}")
    click.echo("timeline:")
    for e in record.events:
        offset = (e.at - record.started_at).total_seconds()
        data = mask_text(json.dumps(e.data, ensure_ascii=False)) if e.data else ""
        click.echo(f"  {e.seq:>3} +{offset:7.2f}s {e.kind:<18} {e.node or '':<16} {data}")


@calls.command("purge")
@click.option("--older-than", "days", type=click.FloatRange(min=1), required=True, metavar="DAYS",
              help="Delete calls that ended more than DAYS days ago (with their timelines).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def purge_command(settings: Settings, days: float, yes: bool) -> None:
    """Apply a retention period to call records."""
    before = datetime.now(UTC) - timedelta(days=days)
    if not yes:
        click.confirm(f"Delete every call that ended before {before:%Y-%m-%d %H:%M} UTC?", abort=True)
    removed = _with_store(settings, lambda store: store.purge(before))
    click.echo(f"deleted {removed} calls")


def _summary(record: CallRecord) -> dict[str, Any]:
    out = record.to_dict()
    out.pop("events")
    return out
