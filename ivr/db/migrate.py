"""Alembic, driven from code: ``ivr db upgrade`` and the test fixtures both call :func:`upgrade`.

Each domain keeps its own branch of revisions (``branch_labels``) in its own folder; the folders are
listed in :data:`VERSION_LOCATIONS` and ``upgrade`` applies every head.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from ivr.settings import PROJECT_ROOT, normalise_database_url

HERE = Path(__file__).resolve().parent
VERSION_LOCATIONS = [
    HERE / "versions",
    PROJECT_ROOT / "callbacks" / "migrations",
    PROJECT_ROOT / "deflection" / "migrations",
    PROJECT_ROOT / "api" / "migrations",
]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "alembic"))
    cfg.set_main_option(
        "version_locations", " ".join(str(p) for p in VERSION_LOCATIONS if p.is_dir())
    )
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["database_url"] = normalise_database_url(url)
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    url = normalise_database_url(url)
    if url.startswith("sqlite") and ":///" in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "heads") -> None:
    """Run migrations from inside a running event loop (Alembic's env owns its own loop)."""
    await asyncio.to_thread(upgrade, url, revision)
