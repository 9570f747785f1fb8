"""Storage: one SQLAlchemy 2 async engine, SQLite by default, PostgreSQL by URL.

Every domain declares its tables on :class:`Base` (so one metadata holds the whole schema) and ships
its own Alembic migration branch under ``<domain>/migrations/``; ``ivr db upgrade`` applies all heads.
"""

from ivr.db.base import Base, utcnow
from ivr.db.database import Database

__all__ = ["Base", "Database", "utcnow"]
