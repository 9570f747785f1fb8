from __future__ import annotations

import click

from ivr.db.migrate import downgrade, upgrade
from ivr.settings import Settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_obj
def upgrade_command(settings: Settings, revision: str) -> None:
    """Apply migrations (every domain's branch)."""
    upgrade(settings.effective_database_url, revision)
    click.echo("database is up to date")


@db.command("downgrade")
@click.option("--revision", default="base", show_default=True)
@click.pass_obj
def downgrade_command(settings: Settings, revision: str) -> None:
    """Revert migrations (default: everything)."""
    downgrade(settings.effective_database_url, revision)
    click.echo(f"downgraded to {revision}")
