"""Fresh, migrated databases for store tests: SQLite in a temp dir, or a new PostgreSQL database.

Migrating takes a second or two, so each test session migrates one template per backend and every
test gets a copy (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from ivr.db import Database
from ivr.db.migrate import upgrade_async
from tests.support.services import PG_ADMIN_URL

_templates: dict[str, str] = {}


async def _sqlite_template() -> Path:
    if "sqlite" not in _templates:
        path = Path(tempfile.mkdtemp(prefix="puente-tpl-")) / "template.db"
        await upgrade_async(f"sqlite+aiosqlite:///{path}")
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


async def _pg_template() -> str:
    if "postgres" not in _templates:
        name = f"puente_tpl_{secrets.token_hex(6)}"
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await upgrade_async(_pg_url(name))
        _templates["postgres"] = name
    return _templates["postgres"]


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@asynccontextmanager
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    template = await _sqlite_template()
    target = tmp_path / "puente-test.db"
    shutil.copyfile(template, target)
    db = Database(f"sqlite+aiosqlite:///{target}")
    try:
        yield db
    finally:
        await db.dispose()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[Database]:
    """A brand-new database on the real server (a copy of the migrated template), dropped afterwards."""
    template = await _pg_template()
    name = f"puente_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        db = Database(_pg_url(name))
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


def drop_templates() -> None:
    """Called at the end of the test session."""
    name = _templates.pop("postgres", None)
    if name is not None:
        async def drop() -> None:
            admin = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

        asyncio.run(drop())
    path = _templates.pop("sqlite", None)
    if path is not None:
        shutil.rmtree(Path(path).parent, ignore_errors=True)
