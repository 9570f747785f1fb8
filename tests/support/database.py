"""Fresh, migrated databases for store tests: SQLite in a temp dir, or a new PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from ivr.db import Database
from ivr.db.migrate import upgrade_async
from tests.support.services import PG_ADMIN_URL


@asynccontextmanager
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'puente-test.db'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[Database]:
    """A brand-new database on the real server, dropped afterwards."""
    name = f"puente_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await upgrade_async(url)
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
