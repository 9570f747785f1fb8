"""``ivr deflections`` (links, outbox, stats) and ``ivr optouts`` (the opt-out registry)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from deflection.cases import CaseStore
from deflection.links import LinkStore
from deflection.messages import MessageStore
from deflection.optout import OptOutRegistry
from deflection.ratings import RatingStore
from ivr.contact import InvalidNumber, to_e164
from ivr.db import Database
from ivr.db.readiness import open_database
from ivr.logs import mask_number
from ivr.settings import Settings

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = await open_database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group()
def deflections() -> None:
    """Links sent by SMS/WhatsApp, their stages, and the outbox."""


@deflections.command("list")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_links(settings: Settings, limit: int, as_json: bool) -> None:
    """The most recent links, newest first."""
    links = _run(settings, lambda db: LinkStore(db).list(limit=limit))
    if as_json:
        _dump([link.to_dict(with_context=False) for link in links])
        return
    for link in links:
        click.echo(f"{link.id}\t{link.reference}\t{link.created_at:%Y-%m-%d %H:%M}\t{mask_number(link.number)}\t"
                   f"{link.channel.value}\t{link.purpose.value}\t{link.stage.value}")


@deflections.command("show")
@click.argument("link_id")
@click.pass_obj
def show(settings: Settings, link_id: str) -> None:
    """One link with its context, messages, cases and rating (JSON)."""

    async def work(db: Database) -> dict[str, Any] | None:
        link = await LinkStore(db).get(link_id)
        if link is None:
            return None
        rating = await RatingStore(db).for_link(link_id)
        return {**link.to_dict(), "messages": [m.to_dict() for m in await MessageStore(db).list(link_id=link_id)],
                "cases": [c.to_dict() for c in await CaseStore(db).list(link_id=link_id)],
                "rating": rating.to_dict() if rating else None}

    data = _run(settings, work)
    if data is None:
        raise click.ClickException(f"no link {link_id!r}")
    _dump(data)


@deflections.command("outbox")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def outbox(settings: Settings, limit: int, as_json: bool) -> None:
    """Messages recorded by the outbox provider (nothing was sent to a real network)."""
    messages = _run(settings, lambda db: MessageStore(db).list(provider="outbox", limit=limit))
    if as_json:
        _dump([m.to_dict() for m in messages])
        return
    for m in messages:
        click.echo(f"{m.id}\t{m.created_at:%Y-%m-%d %H:%M}\t{m.channel.value}\t{m.number}\t{m.status.value}\t{m.body}")


@deflections.command("stats")
@click.pass_obj
def stats(settings: Settings) -> None:
    """Links per stage (offered ... rating)."""
    _dump(_run(settings, lambda db: LinkStore(db).stage_counts()))


@click.group()
def optouts() -> None:
    """Numbers that asked not to be messaged or called back."""


def _registry(settings: Settings, db: Database) -> OptOutRegistry:
    return OptOutRegistry(db, region=settings.contact.default_region)


def _e164(settings: Settings, number: str) -> str:
    try:
        return to_e164(number, settings.contact.default_region)
    except InvalidNumber as exc:
        raise click.ClickException(str(exc)) from None


@optouts.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_optouts(settings: Settings, as_json: bool) -> None:
    rows = _run(settings, lambda db: _registry(settings, db).list())
    if as_json:
        _dump([r.to_dict() for r in rows])
        return
    for r in rows:
        click.echo(f"{r.number}\t{r.at:%Y-%m-%d %H:%M}\t{r.source}")


@optouts.command("add")
@click.argument("number")
@click.pass_obj
def add(settings: Settings, number: str) -> None:
    e164 = _e164(settings, number)
    added = _run(settings, lambda db: _registry(settings, db).opt_out(e164, "cli"))
    click.echo(f"{e164} opted out" if added else f"{e164} was already opted out")


@optouts.command("remove")
@click.argument("number")
@click.pass_obj
def remove(settings: Settings, number: str) -> None:
    e164 = _e164(settings, number)
    removed = _run(settings, lambda db: _registry(settings, db).opt_in(e164))
    if not removed:
        raise click.ClickException(f"{e164} was not opted out")
    click.echo(f"{e164} may be contacted again")
