"""A read-only handle on a callmon database: the read side's way in (no migration, no write).

:func:`open_readonly` connects without migrating and checks that the schema is the one this
callmon was built for; SQLite is opened with ``mode=ro`` (the file must exist: it is never
created) and PostgreSQL sessions are ``READ ONLY``, so a bug on the read side cannot write.

    ReadStore                a connected engine plus the read queries of storage/reads.py
    open_readonly(url)       -> ReadStore, or StoreError (no database, no schema, too old)

>>> import tempfile, os
>>> from callmon.storage import Store
>>> path = os.path.join(tempfile.mkdtemp(), "c.db")
>>> Store(f"sqlite:///{path}").dispose()
>>> ro = open_readonly(f"sqlite:///{path}")
>>> ro.revision == head_revision()
True
"""

from __future__ import annotations

import logging
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError

from callmon.core.errors import StoreError
from callmon.storage.reads import ReadQueries
from callmon.storage.store import SQLITE_TIMEOUT_S, default_db_url, normalize_url, safe_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


@lru_cache(maxsize=1)
def _script():
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The newest schema revision this callmon knows (what a writing command migrates to)."""
    return _script().get_current_head()


def known_revisions() -> set[str]:
    return {rev.revision for rev in _script().walk_revisions()}


class ReadStore(ReadQueries):
    """An engine that only reads; the queries are :class:`~callmon.storage.reads.ReadQueries`."""

    def __init__(self, engine: Engine, url: str, revision: str):
        self.engine = engine
        self.url = url
        self.revision = revision

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def open_readonly(url: str | None = None) -> ReadStore:
    """Open the database at ``url`` (default ``$CALLMON_DB``, else ``callmon.db``) to read it.

    Raises :class:`StoreError` when the database does not exist, has no callmon schema, or has an
    older (or newer) schema than this callmon: a writing command (``callmon ingest``,
    ``callmon users ...``) brings it up to date; reading never does.
    """
    url = normalize_url(url or default_db_url())
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        engine.dispose()
        message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if "alembic_version" in message:
            raise StoreError(f"{safe_url(url)} holds no callmon database (no schema): write to it first, "
                             "e.g. callmon ingest FILE") from exc
        raise StoreError(f"cannot open database {safe_url(url)}: {message}") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {safe_url(url)}: {exc}") from exc
    head = head_revision()
    if revision != head:
        engine.dispose()
        if revision in known_revisions():
            raise StoreError(f"{safe_url(url)}: the database schema is at revision {revision}, this callmon reads "
                             f"{head}; a writing command (callmon ingest, callmon users list) upgrades it")
        raise StoreError(f"{safe_url(url)}: unknown schema revision {revision!r} (a newer callmon wrote it?)")
    return ReadStore(engine, url, revision)


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {safe_url(url)}: {exc}") from exc
    kwargs: dict[str, Any] = {"hide_parameters": True}  # parameters may hold callers' numbers
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise StoreError("an in-memory SQLite database has nothing to read: give a file")
        path = Path(database)
        if not path.is_file():
            raise StoreError(f"no database file {path}: nothing has been stored there yet")
        uri = f"file:{path.resolve().as_posix()}?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=SQLITE_TIMEOUT_S, check_same_thread=False)

        # a pool of connections shared by threads (the dashboard serves from several); the default
        # for a "sqlite://" URL would keep one per thread and close others' beyond five
        from sqlalchemy.pool import QueuePool

        return create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=5, max_overflow=10,
                             **kwargs)
    try:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"bad database URL {safe_url(url)}: {exc}") from exc
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _pg_read_only)
    return engine


def _pg_read_only(dbapi_conn, _record) -> None:
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    with dbapi_conn.cursor() as cur:
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_conn.autocommit = autocommit
