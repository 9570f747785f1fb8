"""``ivr callbacks``: list, show, create, cancel and reschedule callbacks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click

from callbacks.errors import CallbackError, CallbackNotFound
from callbacks.models import CallbackState
from callbacks.service import CallbackService
from callbacks.store import CallbackStore
from callbacks.values import Callback
from ivr.acd.plugin import config_paths, configured_queues
from ivr.db import Database
from ivr.db.readiness import open_database
from ivr.events import EventBus
from ivr.logs import mask_number
from ivr.ports import CallbackRefused, CallbackSource
from ivr.settings import Settings

T = TypeVar("T")


def _run(settings: Settings, job: Callable[[CallbackService], Awaitable[T]]) -> T:
    async def main() -> T:
        db: Database = await open_database(settings)
        try:
            return await job(CallbackService(CallbackStore(db), EventBus(), settings.callbacks,
                                             languages=settings.languages, default_language=settings.default_language,
                                             contact=settings.contact))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except CallbackNotFound as exc:
        raise click.ClickException(f"no callback {exc}") from None
    except (CallbackError, CallbackRefused) as exc:
        raise click.ClickException(str(exc)) from None


def _known_queue(settings: Settings, queue: str) -> None:
    """The CLI has no running ACD: check the queue against the configured ones itself."""
    queues_path, _ = config_paths(settings)
    known = sorted(configured_queues(settings))
    if queue not in known:
        raise click.ClickException(f"no queue {queue!r}: the queues are {', '.join(known)} ({queues_path})")


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # a bare time is UTC


def _line(cb: Callback) -> str:
    return (f"{cb.id}  {cb.state.value:<9} {cb.queue:<10} {mask_number(cb.number):<16} "
            f"due {cb.due_at:%Y-%m-%d %H:%M:%S}  tries {cb.attempts}/{cb.max_attempts}  {cb.source.value}")


@click.group()
def callbacks() -> None:
    """Callbacks: who we owe a call, and how each attempt went."""


@callbacks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (numbers unmasked).")
@click.option("--state", type=click.Choice([s.value for s in CallbackState]))
@click.option("--queue", metavar="Q")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
def list_command(settings: Settings, as_json: bool, state: str | None, queue: str | None, limit: int) -> None:
    """Callbacks by due time."""
    found = _run(settings, lambda s: s.find(state=CallbackState(state) if state else None, queue=queue,
                                            limit=limit))
    if as_json:
        click.echo(json.dumps([cb.to_dict() for cb in found], ensure_ascii=False, indent=1))
        return
    for cb in found:
        click.echo(_line(cb))
    click.echo(f"{len(found)} callbacks")


@callbacks.command("show")
@click.argument("callback_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_command(settings: Settings, callback_id: str, as_json: bool) -> None:
    """One callback with every attempt."""
    cb = _run(settings, lambda s: s.get(callback_id))
    if as_json:
        click.echo(json.dumps(cb.to_dict(with_attempts=True), ensure_ascii=False, indent=1))
        return
    click.echo(_line(cb))
    click.echo(f"arrived {cb.arrival_time:%Y-%m-%d %H:%M:%S}  waited {cb.waited_seconds:.0f}s  "
               f"reason {cb.reason or '-'}")
    for a in cb.history:
        ended = f"{a.ended_at:%H:%M:%S}" if a.ended_at else "--:--:--"
        click.echo(f"  #{a.seq} {a.started_at:%Y-%m-%d %H:%M:%S}-{ended} {a.mode:<14} "
                   f"{a.outcome.value if a.outcome else 'in progress':<11} {'' if a.counted else '(not counted) '}"
                   f"{a.detail or ''}")


@callbacks.command("create")
@click.argument("number")
@click.option("--queue", required=True, metavar="Q")
@click.option("--at", "at", metavar="ISO", help="Not before this time (default: as soon as allowed).")
@click.option("--source", type=click.Choice([CallbackSource.API.value, CallbackSource.AGENT.value]),
              default=CallbackSource.API.value, show_default=True)
@click.pass_obj
def create_command(settings: Settings, number: str, queue: str, at: str | None, source: str) -> None:
    """Schedule a callback (the queue's policy applies; a second one for the pair merges)."""
    when = _when(at) if at else None
    _known_queue(settings, queue)
    ticket = _run(settings, lambda s: s.create(number, queue, at=when, source=CallbackSource(source)))
    click.echo(f"{ticket.callback_id} {'merged' if ticket.merged else 'created'}, "
               f"due {ticket.scheduled_for.isoformat()}")


@callbacks.command("cancel")
@click.argument("callback_id")
@click.pass_obj
def cancel_command(settings: Settings, callback_id: str) -> None:
    cb = _run(settings, lambda s: s.cancel(callback_id))
    click.echo(f"{cb.id} {cb.state.value}")


@callbacks.command("reschedule")
@click.argument("callback_id")
@click.option("--at", "at", required=True, metavar="ISO")
@click.pass_obj
def reschedule_command(settings: Settings, callback_id: str, at: str) -> None:
    cb = _run(settings, lambda s: s.reschedule(callback_id, at=_when(at)))
    click.echo(f"{cb.id} {cb.state.value}, due {cb.due_at.isoformat()}")
