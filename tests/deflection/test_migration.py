"""The hand-written migration matches the models (no drift between deflection/models.py and the branch)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

import deflection.models  # noqa: F401  (registers the tables)
from ivr.db import Base, Database


def _ours() -> MetaData:
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name, table in Base.metadata.tables.items():
        if name.startswith("deflection_"):
            table.to_metadata(ours)
    assert len(ours.tables) == 8
    return ours


def _diff(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    # Other domains' tables appear as "remove_table"/"remove_index": only our own tables count.
    return [d for d in compare_metadata(ctx, _ours()) if "deflection_" in repr(d)]


async def test_models_match_migration(database: Database) -> None:
    async with database.engine.connect() as conn:
        changes = await conn.run_sync(_diff)
    assert changes == []
