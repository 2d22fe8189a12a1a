"""Storage: SQLAlchemy 2 Core tables, Alembic migrations and the repository.

The journal keeps what came in (raw AMI events, raw file rows), each with a natural dedupe key;
calls, legs and scores are derived and can be rebuilt from it. SQLite (WAL) is the embedded
default; PostgreSQL serves several listeners and dashboard workers. Nothing outside this package
imports SQLAlchemy.
"""

from callmon.storage.store import Store, default_db_url, normalize_url

__all__ = ["Store", "default_db_url", "normalize_url"]
