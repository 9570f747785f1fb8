from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import SQLAlchemyError

from ivr.db.database import Database
from ivr.db.migrate import downgrade, upgrade
from ivr.db.readiness import DatabaseNotReady, describe_connect_error, schema_state, shown_url
from ivr.settings import Settings


@click.group()
def db() -> None:
    """Database schema."""


async def _snapshot(url: str) -> tuple[tuple[str, ...], list[str]]:
    database = Database(url)
    try:
        return await schema_state(database)
    finally:
        await database.dispose()


def _migrate(url: str, step: str, revision: str) -> None:
    try:
        (upgrade if step == "upgrade" else downgrade)(url, revision)
    except (SQLAlchemyError, OSError, ModuleNotFoundError) as exc:
        raise DatabaseNotReady(describe_connect_error(url, exc)) from None


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_obj
def upgrade_command(settings: Settings, revision: str) -> None:
    """Apply migrations (every domain's branch) and say what changed."""
    url = settings.effective_database_url
    before, tables_before = asyncio.run(_snapshot(url))
    _migrate(url, "upgrade", revision)
    after, tables_after = asyncio.run(_snapshot(url))
    where = shown_url(url)
    created = len(set(tables_after) - set(tables_before))
    if not before:
        click.echo(f"created {created} tables in {where} (at {', '.join(sorted(after))})")
    elif set(before) == set(after):
        click.echo(f"{where} is already up to date ({', '.join(sorted(after))})")
    else:
        extra = f", {created} new tables" if created else ""
        click.echo(f"upgraded {where} from {', '.join(sorted(before))} to {', '.join(sorted(after))}{extra}")


@db.command("downgrade")
@click.option("--revision", default="base", show_default=True)
@click.pass_obj
def downgrade_command(settings: Settings, revision: str) -> None:
    """Revert migrations (default: everything)."""
    _migrate(settings.effective_database_url, "downgrade", revision)
    click.echo(f"downgraded to {revision}")
