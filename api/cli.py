from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import click

from api.hashing import PasswordHashing
from api.security import UserExists, UserService
from ivr.db.readiness import open_database
from ivr.settings import Settings
from ivr.web.auth import Role


@click.group()
def users() -> None:
    """Users of the API and web UI (admin / supervisor / agent)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--agent-id", default=None, help="The ACD agent this user signs in as (agents).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts; no prompt).")
@click.pass_obj
def add(settings: Settings, username: str, role: str, agent_id: str | None, password_stdin: bool) -> None:
    """Add a user. The password is asked for on the terminal, twice (the second time to confirm);
    without a terminal, pipe it in with --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        raise click.ClickException(
            "no terminal to ask for the password: pipe it in with --password-stdin "
            "(e.g. `printf '%s\\n' \"$PASSWORD\" | ivr users add NAME --role ROLE --password-stdin`)")
    else:
        password = click.prompt(f"Password for {username}", hide_input=True,
                                confirmation_prompt="Repeat the password to confirm")

    async def run() -> None:
        db = await open_database(settings)
        hashing = PasswordHashing.from_settings(settings.auth)  # the same bounded pool as the server, here alone
        try:
            service = UserService(db, hashing, token_ttl=timedelta(hours=settings.auth.token_ttl_hours))
            await service.add_user(username, password, Role(role), agent_id=agent_id)
        finally:
            hashing.close()
            await db.dispose()

    try:
        asyncio.run(run())
    except (UserExists, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {role} {username}")


@users.command("list")
@click.pass_obj
def list_users(settings: Settings) -> None:
    async def run() -> None:
        db = await open_database(settings)
        hashing = PasswordHashing.from_settings(settings.auth)
        try:
            service = UserService(db, hashing, token_ttl=timedelta(hours=1))
            for user in await service.list_users():
                click.echo(f"{user.username}\t{user.role.value}\t{user.agent_id or ''}")
        finally:
            hashing.close()
            await db.dispose()

    asyncio.run(run())
