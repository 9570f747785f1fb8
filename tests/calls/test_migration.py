"""The hand-written migrations match ivr/calls/models.py and ivr/nodes/models.py (no drift)."""

from __future__ import annotations

import ivr.calls.models
import ivr.nodes.models  # noqa: F401  (registers the tables)
from ivr.db import Database
from tests.support.migration_drift import drift

OURS = ("calls", "call_events", "nodes")


async def test_models_match_migration(sqlite_db: Database) -> None:
    assert await drift(sqlite_db, OURS) == []
