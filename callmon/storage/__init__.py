"""Storage: SQLAlchemy 2 Core tables, Alembic migrations and the repository.

The journal keeps what came in (raw AMI events, raw file rows), each with a natural dedupe key;
calls, legs and scores are derived and can be rebuilt from it. SQLite (WAL) is the embedded
default; PostgreSQL serves several listeners and dashboard workers. Nothing outside this package
imports SQLAlchemy.
"""

from sqlalchemy.engine import Connection

from callmon.storage.store import Store, default_db_url, normalize_url

# ``Connection`` is named here so that services can annotate the transaction they are handed
# without importing SQLAlchemy themselves
__all__ = ["Connection", "Store", "default_db_url", "normalize_url"]
