"""The repository: every read and write callmon makes goes through :class:`Store`."""

from __future__ import annotations

import functools
import json
import logging
import re
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

from sqlalchemy import create_engine, delete, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from callmon.core.errors import StoreError
from callmon.core.model import Call, Leg, Score
from callmon.metrics.scoring import AgentResult, ScoredCall
from callmon.metrics.callbacks import MISSED_OUTCOMES
from callmon.storage.callbacks import CallbackQueries
from callmon.storage.directory import DirectoryQueries
from callmon.storage.endpoints import EndpointQueries
from callmon.storage.frames import FrameQueries
from callmon.storage import pgcopy
from callmon.storage.lists import one_of
from callmon.storage.rollups import hour_sql, mark_all
from callmon.sources.files.reread import FileIdentity
from callmon.storage.schema import agent_results, calls, journal, journal_files, legs, live_calls

log = logging.getLogger(__name__)

DEFAULT_SQLITE = "callmon.db"
SQLITE_CACHE_KIB = 64 << 10  # each connection's page cache
SQLITE_TIMEOUT_S = 30  # how long a connection waits for a lock another holds
CHUNK = 500  # ids per IN (...) clause
# secondary indexes a large import builds after its rows are in (Store.load_first)
LOAD_FIRST_INDEXES = ("ix_calls_customer",)
# PostgreSQL's: those with random keys and those with time keys (each a cost per row of a COPY;
# the three of time alone, 1M Master.csv rows: 117 s against 108 s without them). None is read
# while the rows go in, once the callback obligations wait for the end (Obligations.defer)
LOAD_FIRST_INDEXES_PG = ("ix_calls_customer", "ix_calls_callback", "ix_calls_arrived", "ix_journal_ts",
                         "ix_agent_results_at")
# PostgreSQL's memory for building each of them again (SET LOCAL: the import's transaction only)
PG_INDEX_MEMORY = "256MB"
# how they are built again after the load (Store.index_after): SQLite's helper threads for sorting,
# and the page cache meanwhile (KiB), which is also each thread's memory for sorting
SORT_THREADS = 1
SORT_CACHE_KIB = 64 << 10
# ... when the calls table holds at most this many times the rows the import brings
LOAD_FIRST_SHARE = 4
# the temporary table of the obligations a large import opens at its end (Store.put_opened)
_OPENED = "callmon_opened"
# the rollups' per-row insert triggers (storage/rollups.py) a large import replaces by one marking
# of the hours of its rows at its end: name -> (table, the column whose hour is marked)
LOAD_FIRST_TRIGGERS = {"rollup_mark_calls_insert": ("calls", "arrived_at"),
                       "rollup_mark_agent_results_insert": ("agent_results", "at")}


def default_db_url() -> str:
    """``$CALLMON_DB``, else a SQLite file ``callmon.db`` in the current directory."""
    return os.environ.get("CALLMON_DB") or f"sqlite:///{DEFAULT_SQLITE}"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` (and a bare file path for SQLite); use psycopg 3."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


class JournalRow(NamedTuple):
    """One raw input (an AMI event, a file row) as the journal keeps it (a named tuple: the
    listener makes one per event)."""

    kind: str
    event_key: str
    ts: float | None
    name: str
    linkedid: str | None
    uniqueid: str | None
    payload: dict[str, Any] | str  # AMI: the frame text; a file row: its line; a dict: JSON text made of it (dump_payload)
    line: int | None = None


class JournalEntry(NamedTuple):
    """A journal row as read back: ``payload`` is an AMI event's frame text or a file row's line
    (``file_id``: its file in ``journal_files``, ``line``: its number there)."""

    kind: str
    payload: str
    ts: float | None
    file_id: int | None
    line: int | None
    linkedid: str | None


class Store(CallbackQueries, DirectoryQueries, EndpointQueries, FrameQueries):
    """SQLite or PostgreSQL, migrated to the current schema on open.

    The callback obligations, the directory and the report's data frames are queried through
    the mixins of ``storage/callbacks.py``, ``directory.py`` and ``frames.py``.

    >>> store = Store("sqlite://")   # in memory
    >>> store.count_journal("default")
    0
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True):
        self.url = normalize_url(url or default_db_url())
        try:
            # parameters hold callers' numbers (personal data): never in error messages or logs
            kwargs: dict[str, Any] = {"hide_parameters": True}
            if self.url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S, "check_same_thread": False}
                if self.url in ("sqlite://", "sqlite:///:memory:"):
                    from sqlalchemy.pool import StaticPool

                    kwargs["poolclass"] = StaticPool  # one shared in-memory database for every thread
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"bad database URL {safe_url(self.url)}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            self.autocheckpoint = True
            event.listen(self.engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, self.autocheckpoint))
        self._rollups: bool | None = None  # does the schema have the rollups (0009)? known once asked
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite_file(self) -> bool:
        """A SQLite database in a file (not PostgreSQL, not in memory): what the bulk paths need."""
        return self.dialect == "sqlite" and self.engine.url.database not in (None, "", ":memory:")

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.begin() as conn:
                # at the newest revision (the usual case): nothing to lock, nobody waited for
                if set(MigrationContext.configure(conn).get_current_heads()) != _heads():
                    _migration_lock(conn)
                    cfg = _alembic_config()
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            self._rollups = True
        except OperationalError as exc:
            raise StoreError(f"cannot reach database {safe_url(self.url)}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate database {safe_url(self.url)}: {exc}") from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: ``with store.begin() as conn: ...`` (all or nothing).

        The driver's errors (a lost server, a lock held too long, a refused write) leave it as
        :class:`~callmon.core.errors.StoreError`, the cause attached: callers outside storage
        never see SQLAlchemy's exceptions."""
        try:
            with self.engine.begin() as conn:
                yield conn
                if conn.in_transaction():  # (not ended by the caller)
                    self.refresh_rollups(conn)
        except DBAPIError as exc:
            raise StoreError(f"database {safe_url(self.url)}: {str(exc.orig or exc).splitlines()[0][:300]}") from exc

    @contextmanager
    def bulk_begin(self, *, alone: bool = True, cache_kib: int = SQLITE_CACHE_KIB) -> Iterator[Connection]:
        """A transaction for a large import (:meth:`begin` otherwise).

        SQLite (a file): the connection's page cache is ``cache_kib`` while it runs; with
        ``alone``, the database is taken out of WAL into a rollback journal if no other
        connection has it open at the start (else it stays in WAL), and put back in WAL after. A
        transaction far larger than the page cache writes its pages once into the database file
        instead of into the WAL and again at the checkpoint (measured: 1M Master.csv rows, 87 s
        against 76 s). The price: from the first spill of the page cache to the commit, nobody
        else can read the database (readers wait ``timeout`` seconds, then fail).
        ``synchronous=FULL`` meanwhile: a rollback journal needs it against a power cut."""
        if not self.is_sqlite_file:
            if alone and self.dialect == "postgresql":
                self.engine.dispose()  # its idle pooled sessions would count as others (load_first)
            with self.begin() as conn:
                yield conn
            return
        if alone:
            self.engine.dispose()  # this process's idle pooled connections would count as others
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if alone:
                alone = _out_of_wal(raw)
            raw.execute(f"PRAGMA cache_size = -{cache_kib}")
            try:
                with conn.begin():
                    yield conn
                    if conn.in_transaction():  # (not ended by the caller)
                        self.refresh_rollups(conn)
            finally:
                raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
                if alone and not _back_to_wal(raw):
                    conn.invalidate()  # not back to the pool in rollback mode

    def refresh_rollups(self, conn: Connection, *, before: int | None = None) -> int:
        """Recompute the report's rollups of the hours this transaction's writes touched
        (:mod:`callmon.storage.rollups`; ``before``: of the hours before that one); :meth:`begin`
        and :meth:`bulk_begin` do it before they commit (a transaction ended otherwise leaves its
        marks to the next one: the read side meanwhile reads those hours from the rows). The
        number of hours recomputed."""
        if self._rollups is None:
            from sqlalchemy import inspect

            self._rollups = inspect(conn).has_table("rollup_dirty")
        if not self._rollups:
            return 0
        from callmon.storage import rollups

        return rollups.refresh(conn, before=before)

    def background_checkpoints(self, interval: float = 1.0) -> threading.Event | None:
        """SQLite: copy the WAL into the database from a thread of its own (PASSIVE checkpoints,
        which never block a writer) instead of inside the writer's commits; sqlite releases the
        GIL during that I/O, so a busy writer (the live listener) keeps going. Returns the event
        that stops the thread; None (nothing to do) on PostgreSQL or an in-memory database."""
        if not self.is_sqlite_file:
            return None
        self.autocheckpoint = False
        self.engine.dispose()  # pooled connections were opened with autocheckpoint on
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                try:
                    with self.engine.connect() as conn:
                        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                except SQLAlchemyError as exc:
                    log.warning("WAL checkpoint failed: %s", str(exc).splitlines()[0])
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

        threading.Thread(target=run, name="callmon-checkpoint", daemon=True).start()
        return stop

    def dispose(self) -> None:
        self.engine.dispose()

    # -- journal ---------------------------------------------------------------------------
    def journal_file(self, conn: Connection, pbx: str, identity: FileIdentity) -> int:
        """The ``journal_files`` id of a file about to be journaled: the row of the same file
        (name, kind, layout, zone, size, time, first bytes) if an import already made it, else a new one."""
        values = {"pbx": pbx, "kind": identity.kind, "name": identity.name[:255], "layout": identity.layout,
                  "zone": identity.zone, "size": identity.size, "mtime": identity.mtime,
                  "head_sha1": identity.head_sha1}
        q = select(journal_files.c.id).where(*(journal_files.c[k].is_(None) if v is None else journal_files.c[k] == v
                                               for k, v in values.items()))
        found = conn.execute(q.order_by(journal_files.c.id).limit(1)).scalar()
        if found is not None:
            return found
        return conn.execute(insert(journal_files).values(**values, created_at=time.time())).inserted_primary_key[0]

    def journal_files(self, conn: Connection, ids: Iterable[int]) -> dict[int, FileIdentity]:
        """The files of some ``journal_files`` ids (a few: one per file imported)."""
        ids = set(ids)
        if not ids:
            return {}
        t = journal_files.c
        q = select(t.id, t.kind, t.name, t.layout, t.zone, t.size, t.mtime, t.head_sha1).where(t.id.in_(sorted(ids)))
        return {r[0]: FileIdentity(*r[1:]) for r in conn.execute(q)}

    def journal(self, conn: Connection, pbx: str, source: str, rows: Sequence[JournalRow],
                file_id: int | None = None) -> int:
        """Append rows to the journal, skipping those already there; return how many were new.
        ``file_id``: the rows' file (:meth:`journal_file`), for rows of a file.

        This is the hot path of the listener and of every import, so it goes to the driver:
        ``INSERT OR IGNORE`` by executemany on SQLite, ``COPY`` on PostgreSQL
        (:func:`callmon.storage.pgcopy.copy_new`).
        """
        if not rows:
            return 0
        raw = conn.connection.driver_connection
        if self.dialect == "sqlite":
            before = raw.total_changes
            marks = ", ".join("?" * len(JOURNAL_COLUMNS))
            raw.executemany(f"INSERT OR IGNORE INTO journal ({_JOURNAL_COLS}) VALUES ({marks})",
                            journal_tuples(pbx, source, rows, file_id))
            return raw.total_changes - before
        if self.dialect == "postgresql":
            return pgcopy.copy_new(raw, "journal", JOURNAL_COLUMNS, journal_columns(pbx, source, rows, file_id))
        raise StoreError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")

    def count_journal(self, pbx: str, kind: str | None = None) -> int:
        q = select(func.count()).select_from(journal).where(journal.c.pbx == pbx)
        if kind:
            q = q.where(journal.c.kind == kind)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def count_journal_upto(self, conn: Connection, pbx: str, kind: str, limit: int) -> int:
        """How many journal rows of this kind there are, counted up to ``limit`` at most."""
        some = select(journal.c.id).where(journal.c.pbx == pbx, journal.c.kind == kind).limit(limit).subquery()
        return conn.execute(select(func.count()).select_from(some)).scalar_one()

    def count_calls(self, conn: Connection, pbx: str) -> int:
        return conn.execute(select(func.count()).select_from(calls).where(calls.c.pbx == pbx)).scalar_one()

    def journal_entries(self, conn: Connection, pbx: str, kinds: Sequence[str], linkedids: Iterable[str],
                        exclude_names: Iterable[str] = ()) -> list[JournalEntry]:
        """The journal entries of some kinds and linkedids, oldest first."""
        ids = set(linkedids)
        if not ids:
            return []
        found = conn.execute(self._entries(pbx, kinds, exclude_names).where(one_of(journal.c.linkedid, ids))).all()
        found.sort(key=lambda r: (r.ts is not None, r.ts or 0.0, r.id))
        return [JournalEntry(r.kind, r.payload, r.ts, r.file_id, r.line, r.linkedid) for r in found]

    def journal_entries_ordered(self, conn: Connection, pbx: str, kinds: Sequence[str],
                                exclude_names: Iterable[str] = (), *, block: int = 5000) -> Iterator[list[JournalEntry]]:
        """Every journal entry of some kinds, oldest first, streamed in lists of ``block``."""
        t = journal.c
        q = self._entries(pbx, kinds, exclude_names).with_only_columns(t.kind, t.payload, t.ts, t.file_id, t.line, t.linkedid)
        q = q.order_by(t.ts.asc().nulls_first(), t.id)
        for part in conn.execute(q).yield_per(block).partitions():
            yield list(map(JournalEntry._make, part))  # (the columns in the entry's order: no row attribute look-ups)

    def _entries(self, pbx: str, kinds: Sequence[str], exclude_names: Iterable[str]):
        t = journal.c
        q = select(t.id, t.kind, t.payload, t.ts, t.file_id, t.line, t.linkedid).where(t.pbx == pbx)
        q = q.where(t.kind == kinds[0]) if len(kinds) == 1 else q.where(t.kind.in_(list(kinds)))
        exclude = list(exclude_names)
        return q.where(t.name.not_in(exclude)) if exclude else q

    def journal_counts(self, conn: Connection, pbx: str, linkedids: Iterable[str]) -> dict[str, int]:
        """How many journal entries (of any kind) each of these linkedids has."""
        ids = set(linkedids)
        if not ids:
            return {}
        q = select(journal.c.linkedid, func.count()).where(
            journal.c.pbx == pbx, one_of(journal.c.linkedid, ids)).group_by(journal.c.linkedid)
        return dict(conn.execute(q).all())

    def journal_empty_until_commit(self, conn: Connection, pbx: str) -> bool:
        """Does the journal hold nothing of this PBX, the transaction on ``conn`` being the only
        one to write it until its commit? On SQLite, a transaction that has written holds the
        database's one write lock; on PostgreSQL the journal is locked against other writers
        here (readers go on; a large import alone has it locked already, by ``DROP INDEX``)."""
        if self.dialect == "postgresql":
            conn.exec_driver_sql("LOCK TABLE journal IN EXCLUSIVE MODE")
        return conn.execute(select(journal.c.id).where(journal.c.pbx == pbx).limit(1)).first() is None

    def journal_shared(self, conn: Connection, pbx: str) -> dict[str, int]:
        """How many journal entries (of any kind) each linkedid with more than one has (every
        other linkedid of the journal has one): along ``ix_journal_linkedid``."""
        q = select(journal.c.linkedid, func.count()).where(journal.c.pbx == pbx, journal.c.linkedid.is_not(None)) \
            .group_by(journal.c.linkedid).having(func.count() > 1)
        return dict(conn.execute(q).all())

    def linkedids_of_uniqueids(self, conn: Connection, pbx: str, kind: str, uniqueids: Iterable[str]) -> set[str]:
        ids = set(uniqueids)
        if not ids:
            return set()
        q = select(journal.c.linkedid).where(
            journal.c.pbx == pbx, journal.c.kind == kind, one_of(journal.c.uniqueid, ids)).distinct()
        return {lid for (lid,) in conn.execute(q) if lid}

    # -- calls -----------------------------------------------------------------------------
    def replace_calls(self, conn: Connection, pbx: str, scored: Sequence[ScoredCall | tuple[Call, Score]], *,
                      replace: bool = True) -> None:
        """Write calls (their legs and agent results), replacing any stored record with the same
        call_id (``replace=False``: the caller knows there is none).

        Items are :class:`~callmon.metrics.scoring.ScoredCall` (``(call, score)`` pairs are still taken:
        they have no agent results and no customer number).
        """
        if not scored:
            return
        items = [s if isinstance(s, ScoredCall) else ScoredCall(*s) for s in scored]
        if replace:
            self.delete_calls(conn, pbx, [s.call.call_id for s in items])
        self._bulk_insert(conn, calls, [call_row(s.call, s.score, s.customer_number) for s in items])
        self._bulk_insert(conn, legs, [leg_row(s.call.pbx, s.call.call_id, leg) for s in items for leg in s.call.legs])
        self._bulk_insert(conn, agent_results, [agent_result_row(s, r) for s in items for r in s.agent_results])

    def _bulk_insert(self, conn: Connection, table, rows: list[dict[str, Any]]) -> None:
        """Insert rows through the driver (executemany on SQLite, COPY on PostgreSQL): an import
        writes calls by the hundred thousand, and SQLAlchemy's per-row parameter handling would
        cost more than the database does."""
        if not rows:
            return
        cols = [c.name for c in table.columns if c.name in rows[0]]
        self.insert_tuples(conn, table, cols, list(map(itemgetter(*cols), rows)))

    def insert_tuples(self, conn: Connection, table, cols: Sequence[str], tuples: list[tuple]) -> None:
        """Insert rows given as tuples in the order of ``cols``, through the driver (see above)."""
        if not tuples:
            return
        names = ", ".join(cols)
        raw = conn.connection.driver_connection
        if self.dialect == "sqlite":
            raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(cols))})", tuples)
        elif self.dialect == "postgresql":
            pgcopy.copy_rows(raw, table.name, cols, tuples)
        else:
            conn.execute(insert(table), [dict(zip(cols, t)) for t in tuples])

    def refresh_statistics(self, conn: Connection) -> None:
        """Let PostgreSQL's planner see what this transaction has written so far.

        Autovacuum cannot sample rows that are not committed, and an import is one transaction:
        to the planner the tables stay as small as they were, and it picks plans that read every
        open obligation for each block's numbers (measured: 200,000 calls, 95 s, most of it in
        one query). ``ANALYZE`` inside the transaction samples its own rows. SQLite needs nothing."""
        if self.dialect == "postgresql":
            # a sample of 3,000 rows a table (the default takes 30,000: 2.0 s against 0.19 s at
            # 100,000 Master.csv rows, and an import runs it at blocks 2, 4, 8, ...); what the
            # per-block queries need to be planned right is the tables' sizes
            conn.exec_driver_sql("SET LOCAL default_statistics_target = 10")
            conn.exec_driver_sql("ANALYZE journal, calls, legs, agent_results, callbacks")

    # -- a large import: load first, index after; its callback obligations at its end ---------------
    def load_first(self, conn: Connection, expected_rows: int, *, alone: bool = True, journal: bool = True) -> LoadFirst:
        """Drop the secondary indexes a load does not read (:data:`LOAD_FIRST_INDEXES`) for the
        rest of the transaction, when the import's rows will be a large part of the calls table
        (it holds at most :data:`LOAD_FIRST_SHARE` times ``expected_rows``); return what puts
        them back (:meth:`index_after`); an empty plan where nothing is dropped.

        ``ix_calls_customer`` has a random key (customer numbers): each insert lands on a random
        page, about 5 s per million calls, growing faster than the rows once the index outgrows
        the page cache; built after the load, 1.7 s. Nothing of the load reads it once the
        import's callback obligations wait for its end (:meth:`~callmon.service.obligations.Obligations.defer`).
        The rollups' insert triggers go too: the hours of the rows stored meanwhile are marked
        by :meth:`roll_up_loaded` as the load goes, or at the latest by :meth:`index_after`.
        The drop is part of the import's transaction: a reader meanwhile sees the old state with
        its indexes (or waits, when the import holds the database alone), a failed or killed
        import leaves them as they were.

        PostgreSQL: :data:`LOAD_FIRST_INDEXES_PG`, when ``alone`` and no other session is
        connected to the database: ``DROP INDEX`` locks its table until the commit, so a reader
        or the live listener would wait the whole import (with others there, nothing is
        dropped); ``journal=False``: not the journal's (a write of calls alone reads the journal
        in time order: ``rebuild``). The rollups' triggers there are one per statement and stay."""
        if self.dialect == "postgresql":
            return self._pg_load_first(conn, expected_rows, journal) if alone else LoadFirst()
        if self.dialect != "sqlite":
            return LoadFirst()
        raw = conn.connection.driver_connection
        top = raw.execute("SELECT max(id) FROM calls").fetchone()[0] or 0  # calls ever stored, about
        if top > LOAD_FIRST_SHARE * expected_rows:
            return LoadFirst()
        found = _schema_sql(raw, "index", LOAD_FIRST_INDEXES)
        # the rollups' insert triggers mark an hour per row: instead, the hours of the rows
        # stored after this point are marked a block at a time (the delete and update triggers stay)
        triggers = _schema_sql(raw, "trigger", tuple(LOAD_FIRST_TRIGGERS))
        if found or triggers:
            _sqlite_begin(raw)
        for name, _ in found:
            raw.execute(f"DROP INDEX {name}")
        plan = LoadFirst([sql for _, sql in found])
        for name, sql in triggers:
            table, _ = LOAD_FIRST_TRIGGERS[name]
            raw.execute(f"DROP TRIGGER {name}")
            plan.triggers.append(sql)
            plan.marked[table] = top if table == "calls" else raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
        log.info("large import: %s built after the load; %s: hours marked as it goes",
                 ", ".join(name for name, _ in found) or "no index", ", ".join(name for name, _ in triggers) or "no trigger")
        return plan

    def _pg_load_first(self, conn: Connection, expected_rows: int, journal: bool) -> LoadFirst:
        """:meth:`load_first` on PostgreSQL."""
        top = conn.execute(select(func.count()).select_from(calls)).scalar_one()
        if top > LOAD_FIRST_SHARE * expected_rows:
            return LoadFirst()
        others = conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalar_one()
        if others:
            log.info("large import: %d other session(s) on the database, its indexes stay", others)
            return LoadFirst()
        found = conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                     "AND indexname = ANY(%(names)s) ORDER BY indexname",
                                     {"names": [n for n in LOAD_FIRST_INDEXES_PG
                                                if journal or not n.startswith("ix_journal")]}).all()
        for name, _ in found:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        log.info("large import: %s built after the load", ", ".join(name for name, _ in found) or "no index")
        return LoadFirst([sql for _, sql in found])

    def index_after(self, conn: Connection, plan: LoadFirst, names: Sequence[str] | None = None) -> None:
        """Build the indexes :meth:`load_first` dropped, mark the hours of the rows stored since
        it last marked them (the rollups recompute them at the commit) and create its triggers
        again, in the same transaction. ``names``: only those of these indexes, the rest (and the
        marks and triggers) by a later call; each is built once.

        SQLite sorts the keys of an index larger than its memory for sorting in runs that it then
        merges; that memory is the page cache's size, per thread. Built with one helper thread
        (the load's other process is done by now) and a 64 MB page cache meanwhile, the index of
        10M calls takes about 13 s instead of 24 s, with 150-200 MB for sorting instead of the
        large import's 256 MB cache (two threads on it took 740 MB; measured on 10M numbers)."""
        raw = conn.connection.driver_connection
        now = [sql for sql in plan.indexes if names is None or _index_name(sql) in names]
        plan.indexes = [sql for sql in plan.indexes if sql not in now]
        if now and self.dialect == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_MEMORY}'")
            for sql in now:
                conn.exec_driver_sql(sql)
        elif now:
            with _sorting(raw, threads=SORT_THREADS):
                for sql in now:
                    raw.execute(sql)
        if plan.indexes:  # the rest later
            return
        _mark_loaded(raw, plan)
        for sql in plan.triggers:
            raw.execute(sql)
        plan.triggers = []

    def roll_up_loaded(self, conn: Connection, plan: LoadFirst) -> int:
        """During a load without the rollups' insert triggers (:meth:`load_first`): mark the
        hours of the rows stored since the last call, and recompute the marked hours that end
        more than an hour before the earliest of those rows. A file is written about in time
        order, so its hours are recomputed about once each as the load goes instead of all at
        its commit; a row that comes late for its hour marks it again (recomputed again later).
        The number of hours recomputed."""
        if not plan.marked:
            return 0
        earliest = _mark_loaded(conn.connection.driver_connection, plan)
        return 0 if earliest is None else self.refresh_rollups(conn, before=earliest - 1)

    # -- a large import's callback obligations, at its end ----------------------------------------
    def top_call_id(self, conn: Connection) -> int:
        """The calls' highest id: the calls stored after it are newer (SQLite: rowids grow;
        PostgreSQL: ids come from a sequence, in the order rows are written)."""
        return conn.execute(select(func.max(calls.c.id))).scalar() or 0

    def _driver_sql(self, conn: Connection, what: str) -> _DriverSql:
        """The driver's connection for SQL written for SQLite (``?``, ``INDEXED BY``, ``NOT
        INDEXED``), which on PostgreSQL runs without the hints and with psycopg's ``%s``
        (:class:`_DriverSql`); other databases: an error naming the method."""
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"{what} is for SQLite and PostgreSQL only (the database is {self.dialect})")
        return _DriverSql(conn.connection.driver_connection, self.dialect == "postgresql")

    def numbers_called_since(self, conn: Connection, pbx: str, since_id: int) -> list[tuple[str, float]]:
        """``(number, earliest moment)`` of the customer numbers of the calls stored after
        ``since_id`` whose number has another call, or a memo, or a stored
        obligation (a number with a single call, see :meth:`single_misses_since`, needs no derivation).
        The moment is the earliest :func:`~callmon.service.obligations.callback_moment` of those calls.

        Read along ``ix_calls_customer`` (in number order, no sort), then the few numbers' calls."""
        raw = self._driver_sql(conn, "numbers_called_since")
        q = ("SELECT customer_number FROM calls INDEXED BY ix_calls_customer WHERE pbx = ? AND customer_number IS NOT NULL "
             "GROUP BY customer_number HAVING max(id) > ? AND (count(*) > 1 OR min(id) <= ? "
             "OR EXISTS (SELECT 1 FROM memos m WHERE m.pbx = ? AND m.number = customer_number) "
             "OR EXISTS (SELECT 1 FROM callbacks b WHERE b.pbx = ? AND b.number = customer_number))")
        numbers = [n for (n,) in raw.execute(q, (pbx, since_id, since_id, pbx, pbx))]
        out = []
        for i in range(0, len(numbers), CHUNK):
            chunk = numbers[i:i + CHUNK]
            out += raw.execute(f"SELECT customer_number, min({_CALLBACK_MOMENT}) FROM calls WHERE pbx = ? AND id > ? "
                               f"AND customer_number IN ({', '.join('?' * len(chunk))}) GROUP BY customer_number",
                               (pbx, since_id, *chunk)).fetchall()
        return out

    def single_misses_since(self, conn: Connection, pbx: str, since_id: int,
                           chunk: int = 20_000, *, stored: bool = False) -> Iterator[list[SingleMiss]]:
        """The calls stored after ``since_id`` whose number has a single call (no other call, no
        memo, no stored obligation) and which are unanswered inbound calls (the SQL narrowing of
        :func:`~callmon.metrics.callbacks.miss_of`), as :class:`SingleMiss` rows (what opening
        their obligation reads, its moment computed by the SQL of
        :func:`~callmon.service.obligations.callback_moment`), in the order they were stored,
        ``chunk`` at a time (each read whole before it is given: the caller may write). The calls
        are read in the order of their ids (rowids), not by number, which would read the table's
        pages at random.

        ``stored``: a number may have stored obligations, but no cancellation (``rebuild``
        derives every obligation again: the stored ones are replaced, and a cancellation names
        one of them)."""
        outcomes = ", ".join(f"'{o}'" for o in MISSED_OUTCOMES)
        history = "cancellations b" if stored else "callbacks b"
        q = (f"SELECT c.id, c.customer_number, c.call_id, c.direction, c.outcome, c.caller, c.called, c.incomplete, "
             f"{_CALLBACK_MOMENT} FROM calls c NOT INDEXED WHERE c.id > ? AND c.pbx = ? "
             f"AND c.direction = 'inbound' AND c.outcome IN ({outcomes}) AND c.customer_number IS NOT NULL "
             "AND NOT EXISTS (SELECT 1 FROM calls x WHERE x.pbx = c.pbx AND x.customer_number = c.customer_number "
             "AND x.id <> c.id) "
             "AND NOT EXISTS (SELECT 1 FROM memos m WHERE m.pbx = c.pbx AND m.number = c.customer_number) "
             f"AND NOT EXISTS (SELECT 1 FROM {history} WHERE b.pbx = c.pbx AND b.number = c.customer_number) "
             f"ORDER BY c.id LIMIT {int(chunk)}")
        raw, last = self._driver_sql(conn, "single_misses_since"), since_id
        while True:
            rows = raw.execute(q, (last, pbx)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield list(map(SingleMiss._make, rows))

    def put_opened(self, conn: Connection, cols: Sequence[str], rows: Sequence[tuple]) -> None:
        """SQLite: put obligations aside for :meth:`store_opened`, each as ``(row id of the call
        that opens it, *values of cols)`` (the callbacks' columns but ``callback_id``), in a
        temporary table of this connection."""
        raw = conn.connection.driver_connection
        raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_OPENED} (call_row INTEGER, {', '.join(cols)})")
        raw.executemany(f"INSERT INTO temp.{_OPENED} VALUES ({', '.join('?' * (len(cols) + 1))})", rows)

    def store_opened(self, conn: Connection, cols: Sequence[str]) -> None:
        """Store the obligations :meth:`put_opened` put aside: in the order of their PBX, number
        and key (the order of the callbacks' indexes, so each index grows at its pages in turn),
        their ids given in that order after the highest, and link each call to its obligation
        in the order of the calls' ids (their pages)."""
        raw = conn.connection.driver_connection
        if not raw.execute("SELECT 1 FROM temp.sqlite_schema WHERE name = ?", (_OPENED,)).fetchone():
            return
        names = ", ".join(cols)
        top = raw.execute("SELECT coalesce(max(callback_id), 0) FROM callbacks").fetchone()[0]
        with _sorting(raw):  # within the memory of an index build (10M rows: 765 MB at the peak, not 880)
            raw.execute(f"CREATE TEMP TABLE {_OPENED}_sorted AS SELECT * FROM temp.{_OPENED} ORDER BY pbx, number, key")
        raw.execute(f"INSERT INTO callbacks (callback_id, {names}) "
                    f"SELECT ? + rowid, {names} FROM temp.{_OPENED}_sorted ORDER BY rowid", (top,))
        self.set_call_callback_ids(conn, raw.execute(
            f"SELECT ? + rowid, call_row FROM temp.{_OPENED}_sorted ORDER BY call_row", (top,)))
        raw.execute(f"DROP TABLE temp.{_OPENED}_sorted")
        raw.execute(f"DROP TABLE temp.{_OPENED}")

    def set_call_callback_ids(self, conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
        """``(callback_id, row id)``: the obligation each call opened, the calls named by their row
        ids (:meth:`single_misses_since`): an update in the order of the table's pages, where one
        by ``call_id`` looks each up in an index at random (1M Master.csv rows: 0.4 s against 2.9 s)."""
        if not pairs:
            return
        driver = self._driver_sql(conn, "set_call_callback_ids")
        if driver.pg:  # one statement, not one per call
            driver.execute("UPDATE calls SET callback_id = v.callback_id FROM unnest(?::bigint[], ?::bigint[]) "
                           "AS v(callback_id, id) WHERE calls.id = v.id", [list(column) for column in zip(*pairs)])
        else:
            driver.executemany("UPDATE calls SET callback_id = ? WHERE id = ?", pairs)

    def delete_calls(self, conn: Connection, pbx: str, call_ids: Sequence[str] | None = None) -> None:
        """Delete these calls of ``pbx`` with their legs and agent results (None: all of them).
        All of them on SQLite, where the tables hold no other PBX's: emptied at once
        (:func:`_empty_calls`)."""
        tables = (legs, agent_results, calls)
        if call_ids is None:
            raw = conn.connection.driver_connection
            if self.dialect == "sqlite" and not any(
                    raw.execute(f"SELECT 1 FROM {t.name} WHERE pbx <> ? LIMIT 1", (pbx,)).fetchone() for t in tables):
                _empty_calls(conn, [t.name for t in tables])
                return
            for t in tables:
                conn.execute(delete(t).where(t.c.pbx == pbx))
            return
        raw = conn.connection.driver_connection
        if self.dialect == "sqlite":  # one indexed delete per id, no IN list to compile
            pairs = [(pbx, cid) for cid in call_ids]
            for t in tables:
                raw.executemany(f"DELETE FROM {t.name} WHERE pbx = ? AND call_id = ?", pairs)
            return
        if self.dialect == "postgresql":
            with raw.cursor() as cur:
                for t in tables:
                    cur.execute(f"DELETE FROM {t.name} WHERE pbx = %s AND call_id = ANY(%s)", (pbx, list(call_ids)))
            return
        for i in range(0, len(call_ids), CHUNK):
            chunk = list(call_ids[i:i + CHUNK])
            for t in tables:
                conn.execute(delete(t).where(t.c.pbx == pbx, t.c.call_id.in_(chunk)))

    def query_calls(self, pbx: str | None = None, since: float | None = None, until: float | None = None,
                    with_legs: bool = True) -> list[dict[str, Any]]:
        """Stored calls (all PBXs when ``pbx`` is None), oldest first, as plain dicts."""
        q = select(calls)
        if pbx is not None:
            q = q.where(calls.c.pbx == pbx)
        if since is not None:
            q = q.where(calls.c.arrived_at >= since)
        if until is not None:
            q = q.where(calls.c.arrived_at < until)
        q = q.order_by(calls.c.arrived_at, calls.c.pbx, calls.c.call_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
            if with_legs and rows:
                by_key = {(r["pbx"], r["call_id"]): r for r in rows}
                for r in rows:
                    r["legs"] = []
                lq = select(legs).order_by(legs.c.created_at, legs.c.id)
                if pbx is not None:
                    lq = lq.where(legs.c.pbx == pbx)
                for leg in conn.execute(lq.where(one_of(legs.c.call_id, {r["call_id"] for r in rows}))):
                    parent = by_key.get((leg.pbx, leg.call_id))
                    if parent is not None:
                        parent["legs"].append(dict(leg._mapping))
        for r in rows:
            r["uniqueids"] = json.loads(r["uniqueids"])
        return rows

    # -- live state ------------------------------------------------------------------------
    def set_live_calls(self, conn: Connection, pbx: str, rows: Sequence[dict[str, Any]], ended: Sequence[str]) -> None:
        """Upsert the calls in progress and drop the ones that ended."""
        gone = {*ended, *(r["call_id"] for r in rows)}  # ended, or about to be written anew
        if gone:
            conn.execute(delete(live_calls).where(live_calls.c.pbx == pbx, one_of(live_calls.c.call_id, gone)))
        if rows:
            conn.execute(insert(live_calls), [{**r, "pbx": pbx} for r in rows])

    def query_live_calls(self, pbx: str | None = None) -> list[dict[str, Any]]:
        q = select(live_calls).order_by(live_calls.c.arrived_at)
        if pbx is not None:
            q = q.where(live_calls.c.pbx == pbx)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


@dataclass
class LoadFirst:
    """What :meth:`Store.load_first` took away for a large write, for :meth:`Store.index_after`
    to put back: false when it took nothing."""

    indexes: list[str] = field(default_factory=list)  # the statements building the dropped indexes
    triggers: list[str] = field(default_factory=list)  # those creating the dropped insert triggers
    marked: dict[str, int] = field(default_factory=dict)  # table -> highest id whose row's hour is marked

    def __bool__(self) -> bool:
        return bool(self.indexes or self.triggers)


def _mark_loaded(raw, plan: LoadFirst) -> int | None:
    """Mark the rollup hours of the rows stored after ``plan.marked`` (their tables' insert
    triggers are dropped) and move the marks on; the earliest hour marked, None if no row was."""
    earliest = None
    for table, column in LOAD_FIRST_TRIGGERS.values():
        if table not in plan.marked:
            continue
        since = plan.marked[table]
        top = raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
        if top <= since:
            continue
        # NOT INDEXED: the new rows by their row ids (the planner would scan the covering index of the column)
        hours = raw.execute(f"SELECT DISTINCT pbx, {hour_sql(column, 'sqlite')} FROM {table} NOT INDEXED "
                            f"WHERE id > ? AND {column} IS NOT NULL", (since,)).fetchall()
        raw.executemany("INSERT OR IGNORE INTO rollup_dirty (pbx, hour) VALUES (?, ?)", hours)
        if hours:
            first = min(h for _, h in hours)
            earliest = first if earliest is None else min(earliest, first)
        plan.marked[table] = top
    return earliest


class _DriverSql:
    """SQL written for SQLite on the driver's connection; on PostgreSQL (``pg``) the same without
    SQLite's index hints and with psycopg's placeholders (the SQL holds no ``?`` of its own)."""

    _HINTS = re.compile(r"\s+(?:INDEXED BY \w+|NOT INDEXED)\b")

    def __init__(self, raw, pg: bool) -> None:
        self.raw, self.pg = raw, pg

    def sql(self, q: str) -> str:
        return self._HINTS.sub("", q).replace("?", "%s") if self.pg else q

    def execute(self, q: str, params: Sequence = ()):
        return self.raw.execute(self.sql(q), params)

    def executemany(self, q: str, rows: Sequence[Sequence]) -> None:
        if self.pg:
            with self.raw.cursor() as cur:
                cur.executemany(self.sql(q), rows)
        else:
            self.raw.executemany(q, rows)


def _index_name(sql: str) -> str:
    """The name a ``CREATE INDEX`` statement gives.

    >>> _index_name("CREATE INDEX ix_calls_customer ON public.calls USING btree (pbx)")
    'ix_calls_customer'
    """
    return re.search(r"INDEX\s+(?:IF NOT EXISTS\s+)?([\w.\"]+)", sql).group(1).strip('"')


@contextmanager
def _sorting(raw, *, threads: int | None = None) -> Iterator[None]:
    """SQLite sorts within :data:`SORT_CACHE_KIB` meanwhile (its sorter holds up to the page
    cache's size before it spills to temporary files: a large import's cache is 256 MB), with
    ``threads`` helper threads if given; the connection's settings are put back after."""
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in ("threads", "cache_size")}
    raw.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
    if threads is not None:
        raw.execute(f"PRAGMA threads = {threads}")
    try:
        yield
    finally:
        for name, value in saved.items():
            raw.execute(f"PRAGMA {name} = {value}")


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


@functools.cache
def _heads() -> frozenset[str]:
    """The newest revisions of callmon's migrations."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def _sqlite_begin(raw: sqlite3.Connection, mode: str = "") -> None:
    """Begin a transaction on ``raw`` unless one is open (``mode``: ``IMMEDIATE`` takes the
    write lock at once): sqlite3 begins one before DML only, so DDL before it would commit at once."""
    if not raw.in_transaction:
        raw.execute(f"BEGIN {mode}")


def _migration_lock(conn: Connection) -> None:
    """Make the migration's transaction the only one migrating this database: processes opening
    a new database together (gunicorn's workers; a listener and its dashboard) would each create
    its tables, and all but the first fail. The others wait here, then find it at the newest
    revision. SQLite: the write lock from the start (``BEGIN IMMEDIATE``); PostgreSQL: an
    advisory lock for this schema, released with the transaction."""
    if conn.dialect.name == "sqlite":
        _sqlite_begin(conn.connection.driver_connection, "IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('callmon.migrate.' || current_schema()))"))


def _empty_calls(conn: Connection, tables: Sequence[str]) -> None:
    """Empty these SQLite tables: each page freed at once, not each row and its index entries
    deleted (1M Master.csv rows' calls: about 3 s against 12 s). SQLite does so for a ``DELETE``
    without ``WHERE`` on a table without triggers: the rollups' delete and update triggers are
    dropped meanwhile and the hours they would mark are marked beforehand."""
    raw = conn.connection.driver_connection
    _sqlite_begin(raw)
    q = f"SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN ({', '.join('?' * len(tables))})"
    triggers = raw.execute(q, tuple(tables)).fetchall()
    if any(name.startswith("rollup_mark_") for name, _ in triggers):
        mark_all(conn)
    for name, _ in triggers:
        raw.execute(f'DROP TRIGGER "{name}"')
    for table in tables:
        raw.execute(f"DELETE FROM {table}")
    for _, sql in triggers:
        raw.execute(sql)


def _schema_sql(raw, kind: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, sql)`` of the SQLite schema's objects of this type and these names."""
    q = f"SELECT name, sql FROM sqlite_schema WHERE type = ? AND name IN ({', '.join('?' * len(names))})"
    return raw.execute(q, (kind, *names)).fetchall()


class SingleMiss(NamedTuple):
    """A stored call :meth:`Store.single_misses_since` finds: what opening its obligation reads."""

    id: int  # its row id
    number: str  # its customer number
    call_id: str
    direction: str
    outcome: str
    caller: str
    called: str
    incomplete: bool
    moment: float | None  # obligations.callback_moment of the call

# obligations.callback_moment in SQL: an unanswered inbound call at its arrival, any other at its answer
_CALLBACK_MOMENT = ("CASE WHEN direction = 'inbound' AND answered_at IS NULL THEN coalesce(arrived_at, ended_at) "
                    "ELSE coalesce(answered_at, ended_at, arrived_at) END")

_JOURNAL_COLS = "pbx, kind, event_key, ts, name, linkedid, uniqueid, payload, source, line, ingested_at, file_id"


JOURNAL_COLUMNS = tuple(_JOURNAL_COLS.split(", "))


def journal_tuples(pbx: str, source: str, rows: Sequence[JournalRow], file_id: int | None = None) -> list[tuple]:
    """The journal table's rows (:data:`JOURNAL_COLUMNS`) of some raw inputs from ``source``
    (``file_id``: of a file, its ``journal_files`` row): the rows of :func:`journal_columns`,
    made in one pass (the listener's every batch goes here)."""
    src, now = source[:255], time.time()
    return [(pbx, kind, key, ts, name[:64], lid, uid, payload if isinstance(payload, str) else dump_payload(payload),
             src, line, now, file_id)
            for kind, key, ts, name, lid, uid, payload, line in rows]


def journal_columns(pbx: str, source: str, rows: Sequence[JournalRow], file_id: int | None = None) -> list[list]:
    """The journal table's columns (one list per name of :data:`JOURNAL_COLUMNS`) of some raw
    inputs from ``source`` (``file_id``: of a file, its ``journal_files`` row)."""
    n, src = len(rows), source[:255]
    return [[pbx] * n, [r.kind for r in rows], [r.event_key for r in rows], [r.ts for r in rows],
            [r.name[:64] for r in rows], [r.linkedid for r in rows], [r.uniqueid for r in rows],
            [r.payload if isinstance(r.payload, str) else dump_payload(r.payload) for r in rows],
            [src] * n, [r.line for r in rows], [time.time()] * n, [file_id] * n]


def dump_payload(payload: dict[str, Any]) -> str:
    """The journal's JSON text of a raw input (order kept: it is also what the dedupe key hashes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def call_row(call: Call, score: Score, customer_number: str | None = None) -> dict[str, Any]:
    """The ``calls`` table row of a scored call."""
    return {
        "customer_number": customer_number,
        "pbx": call.pbx, "call_id": call.call_id, "direction": call.direction, "caller": call.caller,
        "called": call.called, "queue": call.queue, "arrived_at": call.arrived_at,
        "first_ring_at": call.first_ring_at, "answered_at": call.answered_at, "ended_at": call.ended_at,
        "outcome": call.outcome, "answered_by": call.answered_by, "answered_leg": call.answered_leg,
        "agent": score.agent, "team": score.team, "ring_seconds": call.ring_seconds, "rings": score.rings,
        "wait_seconds": call.wait_seconds, "talk_seconds": call.talk_seconds, "hangup_by": call.hangup_by,
        "hangup_channel": call.hangup_channel, "transferred": call.transferred, "incomplete": call.incomplete,
        "ring_rule": score.ring_rule.result, "ring_reason": score.ring_rule.reason,
        "hangup_rule": score.hangup_rule.result, "hangup_reason": score.hangup_rule.reason,
        "callback_id": score.callback_id, "sources": ",".join(call.sources),
        "uniqueids": json.dumps(list(call.uniqueids)),
    }


LEG_COLUMNS = ("pbx", "call_id", "uniqueid", "channel", "endpoint", "party", "created_at", "ring_started_at",
               "ring_ended_at", "answered_at", "ended_at", "dial_status", "hangup_cause")


def leg_row(pbx: str, call_id: str, leg: Leg) -> dict[str, Any]:
    """The ``legs`` table row of one leg of call ``call_id``."""
    return {
        "pbx": pbx, "call_id": call_id, "uniqueid": leg.uniqueid, "channel": leg.channel,
        "endpoint": leg.endpoint, "party": leg.party, "created_at": leg.created_at,
        "ring_started_at": leg.ring_started_at, "ring_ended_at": leg.ring_ended_at,
        "answered_at": leg.answered_at, "ended_at": leg.ended_at, "dial_status": leg.dial_status,
        "hangup_cause": leg.hangup_cause,
    }


def agent_result_row(scored: ScoredCall, r: AgentResult) -> dict[str, Any]:
    """The ``agent_results`` row of one agent-view verdict."""
    return {
        "pbx": scored.call.pbx, "call_id": scored.call.call_id, "rule": r.result.rule, "extension": r.extension,
        "agent": r.agent, "team": r.team, "uniqueid": r.uniqueid, "result": r.result.result,
        "reason": r.result.reason, "rings": _int(r.result.value) if r.result.rule == "answer_before_ring" else None,
        "ring_seconds": r.ring_seconds, "answered": r.answered, "at": scored.period_at,
    }


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


@contextmanager
def _busy_timeout(raw: sqlite3.Connection, ms: int) -> Iterator[None]:
    """The connection waits at most ``ms`` for another's lock meanwhile."""
    raw.execute(f"PRAGMA busy_timeout = {ms}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT_S * 1000}")


def _out_of_wal(raw: sqlite3.Connection) -> bool:
    """Take the database out of WAL into a rollback journal (:meth:`Store.bulk_begin`), at once
    or not at all; False if another connection has it open."""
    with _busy_timeout(raw, 0):
        try:
            alone = raw.execute("PRAGMA journal_mode = TRUNCATE").fetchone()[0] != "wal"
        except sqlite3.OperationalError:  # "database is locked": someone else has it open
            alone = False
    log.info("large import: %s", "the database alone (rollback journal)" if alone
             else "in WAL: another connection has the database open")
    if alone:
        raw.execute("PRAGMA synchronous = FULL")
    return alone


def _back_to_wal(raw: sqlite3.Connection) -> bool:
    """Put a database taken alone (:meth:`Store.bulk_begin`) back in WAL; False if it could
    not. A reader that came meanwhile and still reads holds it back; then it is left (the
    transaction is over, committed or not) to the next connection of callmon's, which sets WAL
    when it opens."""
    with _busy_timeout(raw, 2000):
        try:
            raw.execute("PRAGMA journal_mode = WAL")
            raw.execute("PRAGMA synchronous = NORMAL")
            return True
        except sqlite3.OperationalError as exc:
            log.warning("could not put the database back in WAL now (%s); the next connection will", exc)
            return False


def _sqlite_pragmas(dbapi_conn, autocheckpoint: bool = True) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # 64 MiB: the journal's key index stays in memory
    if not autocheckpoint:
        cur.execute("PRAGMA wal_autocheckpoint=0")  # a background thread checkpoints
    cur.close()
