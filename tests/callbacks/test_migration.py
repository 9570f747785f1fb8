"""The hand-written migration matches callbacks/models.py (no drift)."""

from __future__ import annotations

import callbacks.models  # noqa: F401  (registers the tables)
from ivr.db import Database
from tests.support.migration_drift import drift

OURS = ("callbacks", "callback_attempts")


async def test_models_match_migration(sqlite_db: Database) -> None:
    assert await drift(sqlite_db, OURS) == []
