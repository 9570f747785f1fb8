"""The ACD's hand-written migrations match ivr/acd/models.py for the tables the EWT and the shared line
write (no drift)."""

from __future__ import annotations

import ivr.acd.models  # noqa: F401  (registers the tables)
from ivr.db import Database
from tests.support.migration_drift import drift

OURS = ("acd_predictions", "acd_line_queues", "acd_line_agents", "acd_line_entries")


async def test_predictions_model_matches_migration(sqlite_db: Database) -> None:
    assert await drift(sqlite_db, OURS) == []
