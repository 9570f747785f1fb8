"""Drift between a domain's hand-written migrations and its models, for the named tables only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from ivr.db import Base, Database


def _metadata_of(tables: Sequence[str]) -> MetaData:
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in tables:
        Base.metadata.tables[name].to_metadata(ours)
    return ours


async def drift(db: Database, tables: Sequence[str]) -> list[Any]:
    """What autogenerate would change in ``tables`` of the migrated ``db`` (empty: no drift). Other
    domains' tables show up as "remove_table"/"remove_index": only the named tables count."""

    def diff(sync_conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, _metadata_of(tables))
                if any(f"'{t}'" in repr(d) or f"table_name='{t}'" in repr(d) for t in tables)]

    async with db.engine.connect() as conn:
        return await conn.run_sync(diff)
