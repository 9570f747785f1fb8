"""``ivr schedules``: check business hours and set emergency overrides."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from ivr.db.readiness import open_database
from ivr.schedules.errors import ScheduleError
from ivr.schedules.model import ScheduleBook, ScheduleState, ScheduleStatus
from ivr.schedules.service import ScheduleService
from ivr.settings import Settings

T = TypeVar("T")


def schedules_path(settings: Settings) -> Path:
    return settings.flows_dir.parent / "schedules.yaml"


def _run(settings: Settings, job: Callable[[ScheduleService], Awaitable[T]]) -> T:
    try:
        book = ScheduleBook.load(schedules_path(settings))
    except ScheduleError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> T:
        db = await open_database(settings)
        try:
            return await job(ScheduleService(book, db, cache_seconds=0))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except (ScheduleError, ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc


def _parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-12-24T18:00+01:00)") from exc
    if at.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a UTC offset (e.g. +01:00 or Z)")
    return at


_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _from_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    number, unit = value[:-1], value[-1:].lower()
    if unit not in _UNITS or not number.isdigit() or int(number) <= 0:
        raise click.BadParameter(f"{value!r} is not a duration like 30m, 2h or 1d", param_hint="--for")
    return datetime.now(UTC) + timedelta(seconds=int(number) * _UNITS[unit])


@click.group()
def schedules() -> None:
    """Business hours: check, list, override."""


@schedules.command("list")
@click.pass_obj
def list_command(settings: Settings) -> None:
    """List schedules with their current state."""

    async def job(service: ScheduleService) -> list[tuple[str, ScheduleStatus, str]]:
        return [(n, await service.status(n), service.book.get(n).tz.key) for n in service.names()]

    for name, status, tz in _run(settings, job):
        click.echo(f"{name:<16} {_describe(status, tz)}")


@schedules.command("check")
@click.argument("name", required=False)
@click.option("--at", "at_text", metavar="ISO8601", help="Evaluate at this instant instead of now.")
@click.option("--days", type=click.IntRange(1, 366), help="Also list every change in the next DAYS days.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def check_command(settings: Settings, name: str | None, at_text: str | None, days: int | None,
                  as_json: bool) -> None:
    """Report open / closed / holiday, the reason and the next change (all schedules without NAME)."""
    at = _parse_instant(at_text)

    async def job(service: ScheduleService) -> list[tuple[str, str, list[tuple[datetime, ScheduleStatus]]]]:
        start = at or datetime.now(UTC)
        out = []
        for n in [name] if name else service.names():
            if days:
                timeline = await service.changes(n, start, start + timedelta(days=days))
            else:
                timeline = [(start, await service.status(n, start))]
            out.append((n, service.book.get(n).tz.key, timeline))
        return out

    results = _run(settings, job)
    if as_json:
        payload = []
        for n, _tz, tl in results:
            item = {"schedule": n, **tl[0][1].to_dict()}
            if days:
                item["changes"] = [{"at": t.astimezone(UTC).isoformat(), **st.to_dict()} for t, st in tl]
            payload.append(item)
        click.echo(json.dumps(payload[0] if name else payload, ensure_ascii=False, indent=1))
        return
    for n, tz, timeline in results:
        click.echo(f"{n:<16} {_describe(timeline[0][1], tz)}")
        for when, status in timeline[1:] if days else []:
            click.echo(f"  {_local(when, tz)}  {status.state.value.upper():<8} {status.reason}")


@schedules.command("override")
@click.argument("name")
@click.argument("state", type=click.Choice(["open", "closed"]))
@click.option("--until", "until_text", metavar="ISO8601", help="End of the override (default: until cleared).")
@click.option("--for", "for_text", metavar="DURATION", help="End of the override from now: 30m, 2h, 1d.")
@click.option("--reason", help="Why (announced in logs and reports).")
@click.pass_obj
def override_command(settings: Settings, name: str, state: str, *, until_text: str | None, for_text: str | None,
                     reason: str | None) -> None:
    """Force a schedule open or closed (evaluated before hours, holidays and closures)."""
    if until_text and for_text:
        raise click.UsageError("give --until or --for, not both")
    until = _parse_instant(until_text) if until_text else _from_now(for_text)

    async def job(service: ScheduleService) -> tuple[ScheduleStatus, str]:
        await service.set_override(name, ScheduleState(state), until=until, reason=reason)
        return await service.status(name), service.book.get(name).tz.key

    status, tz = _run(settings, job)
    click.echo(f"{name}: {_describe(status, tz)}")


@schedules.command("clear")
@click.argument("name")
@click.pass_obj
def clear_command(settings: Settings, name: str) -> None:
    """Remove a schedule's override."""

    async def job(service: ScheduleService) -> tuple[bool, ScheduleStatus, str]:
        removed = await service.clear_override(name)
        return removed, await service.status(name), service.book.get(name).tz.key

    removed, status, tz = _run(settings, job)
    click.echo(f"{name}: {'override cleared' if removed else 'no override was set'}; {_describe(status, tz)}")


@schedules.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--comment", help="Why (kept with the version).")
@click.pass_obj
def publish_command(settings: Settings, path: Path, comment: str | None) -> None:
    """Validate PATH (a schedules YAML) and publish it to the running servers."""
    text = path.read_text(encoding="utf-8")
    version = _run(settings, lambda service: service.publish(text, by="cli", comment=comment))
    click.echo(f"published schedules version {version}")


@schedules.command("versions")
@click.pass_obj
def versions_command(settings: Settings) -> None:
    """Published versions, newest (live) first."""
    versions = _run(settings, lambda service: service.versions())
    if not versions:
        click.echo(f"nothing published: the rules come from {schedules_path(settings)}")
    for v in versions:
        click.echo(f"{v.version:>4}  {v.published_at:%Y-%m-%d %H:%M}  {v.published_by or '-':<12} {v.comment or ''}")


@schedules.command("rollback")
@click.argument("version", type=int)
@click.pass_obj
def rollback_command(settings: Settings, version: int) -> None:
    """Publish an earlier version again."""
    new_version = _run(settings, lambda service: service.rollback(version, by="cli"))
    click.echo(f"version {version} is live again as version {new_version}")


def _describe(status: ScheduleStatus, tz: str) -> str:
    nxt = _local(status.next_change, tz) if status.next_change else "never"
    src = " [override]" if status.source == "override" else ""
    return f"{status.state.value.upper():<8} {status.reason}{src}; next change {nxt}"


def _local(at: datetime, tz: str) -> str:
    """``2026-01-12 20:00 Mon Europe/Madrid (19:00Z)``: what people read, and the instant."""
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%Y-%m-%d %H:%M %a} {tz} ({at.astimezone(UTC):%H:%M}Z)"
