"""The ACD's hand-written migrations match ivr/acd/models.py for the tables the EWT and the shared line
write (no drift)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

import ivr.acd.models  # noqa: F401  (registers the tables)
from ivr.db import Base, Database

OURS = ("acd_predictions", "acd_line_queues", "acd_line_agents", "acd_line_entries")


def _ours() -> MetaData:
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in OURS:
        Base.metadata.tables[name].to_metadata(ours)
    return ours


def _diff(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return [d for d in compare_metadata(ctx, _ours()) if any(f"'{t}'" in repr(d) for t in OURS)
            or any(f"table_name='{t}'" in repr(d) for t in OURS)]


async def test_predictions_model_matches_migration(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as conn:
        changes = await conn.run_sync(_diff)
    assert changes == []
