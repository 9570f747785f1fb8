from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.db import Database
from tests.support.database import postgres_database, sqlite_database
from tests.support.services import require_postgres

# Recorded from a real Asterisk 22.10.1 (see tests/captures/README.md); kept in the repository.
ASTERISK_CAPTURES = Path(__file__).resolve().parent / "captures" / "asterisk"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database; store tests using it run on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        async with sqlite_database(tmp_path) as db:
            yield db
    else:
        require_postgres()
        async with postgres_database() as db:
            yield db


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    async with sqlite_database(tmp_path) as db:
        yield db


@pytest.fixture
async def pg_db() -> AsyncIterator[Database]:
    require_postgres()
    async with postgres_database() as db:
        yield db


@pytest.fixture(scope="session")
def asterisk_captures() -> Path:
    if not ASTERISK_CAPTURES.is_dir():
        pytest.fail(f"the Asterisk captures are missing at {ASTERISK_CAPTURES}")
    return ASTERISK_CAPTURES


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.support.database import drop_templates

    drop_templates()
