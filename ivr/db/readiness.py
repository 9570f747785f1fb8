"""Is the configured database there, reachable and migrated? Asked before a command or the server
uses it, so the answer is one line naming the fix instead of a driver's traceback mid-way."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from ivr.db.database import Database
from ivr.settings import DATABASE_SCHEMES, Settings

UPGRADE_HINT = "run `ivr db upgrade`"


class DatabaseNotReady(Exception):
    """The database cannot be used yet; the message says why and what to do, in one line."""


def shown_url(url: str) -> str:
    """The URL as people may see it: no password."""
    try:
        parsed = make_url(url)
        return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def describe_connect_error(url: str, exc: BaseException) -> str:
    """One line for a failure to reach or open the database."""
    if isinstance(exc, NoSuchModuleError | ModuleNotFoundError | ArgumentError):
        return f"cannot use the database {shown_url(url)}: unsupported; use {' or '.join(DATABASE_SCHEMES)}"
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, ConnectionRefusedError):
        reason = "connection refused (is the database server running on that host and port?)"
    else:
        reason = (getattr(cause, "strerror", None) or str(cause) or type(cause).__name__).splitlines()[0]
    return (f"cannot open the database {shown_url(url)}: {reason}; "
            "check IVR_DATABASE_URL (or the database server), then run `ivr db upgrade`")


def _state(connection: Connection) -> tuple[tuple[str, ...], list[str]]:
    heads = tuple(MigrationContext.configure(connection).get_current_heads())
    return heads, inspect(connection).get_table_names()


async def schema_state(db: Database) -> tuple[tuple[str, ...], list[str]]:
    """(applied Alembic heads, table names) of ``db``; :class:`DatabaseNotReady` if unreachable."""
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(_state)
    except (SQLAlchemyError, OSError, ModuleNotFoundError) as exc:
        raise DatabaseNotReady(describe_connect_error(db.url, exc)) from None


def missing_revisions(applied: Sequence[str], url: str) -> frozenset[str]:
    """Heads of the code's migrations that the database has not reached."""
    from ivr.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    reached: set[str] = set()
    for head in applied:
        if head in known:  # a revision this code does not know is newer than us, not missing
            reached.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return frozenset(script.get_heads()) - reached


async def ensure_ready(db: Database) -> None:
    """Raise :class:`DatabaseNotReady` unless ``db`` answers and has every migration."""
    applied, _tables = await schema_state(db)
    if not applied:
        raise DatabaseNotReady(f"the database {shown_url(db.url)} has no tables yet: {UPGRADE_HINT}")
    missing = missing_revisions(applied, db.url)
    if missing:
        raise DatabaseNotReady(f"the database {shown_url(db.url)} lacks migrations ({', '.join(sorted(missing))}): "
                               f"{UPGRADE_HINT}")


async def open_database(settings: Settings) -> Database:
    """The configured database, checked (see :func:`ensure_ready`); the caller disposes of it."""
    url = settings.effective_database_url
    sqlite_file = settings.sqlite_path
    if sqlite_file is not None and not sqlite_file.exists():
        # check first: Database() would create an empty file (and its folder) at that path
        raise DatabaseNotReady(f"no database at {sqlite_file}: {UPGRADE_HINT} (IVR_HOME is {settings.home})")
    try:
        db = Database(url)
    except (SQLAlchemyError, ModuleNotFoundError) as exc:
        raise DatabaseNotReady(describe_connect_error(url, exc)) from None
    try:
        await ensure_ready(db)
    except DatabaseNotReady:
        await db.dispose()
        raise
    return db


def require_ready(settings: Settings) -> None:
    """Check the database before a server starts (outside its event loop): DatabaseNotReady if not."""

    async def check() -> None:
        db = await open_database(settings)
        await db.dispose()

    asyncio.run(check())
