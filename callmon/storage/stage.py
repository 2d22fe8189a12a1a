"""A block's rows handed to SQLite as a database image, copied in by SQLite itself.

Binding values one by one is most of what an insert costs the interpreter (a million calls of
34 columns: about 6 s before SQLite touches a page), and only one process can write a SQLite
database. So a helper process writes a block's rows into a small database of its own
(:class:`StageBuilder`: Arrow columns bound by the ADBC SQLite driver), in a file of a few MB in
memory (:meth:`StageBuilder.file`), and the importing process reads its image (:func:`take`) and
puts it beside its own database under the schema name ``stage`` (:func:`attach`,
``sqlite3.Connection.deserialize``) and copies the rows with one ``INSERT ... SELECT`` per table
(:func:`copy`), which runs in SQLite without the interpreter.

The stage tables have the columns of the real ones (less ``id``); each value keeps the type it
was given as (text, integer, real, NULL) and takes the real column's affinity when copied,
exactly as if it had been bound there.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa

from sqlalchemy.engine import Connection

SCHEMA = "stage"
_images = int.from_bytes(os.urandom(3), "big") << 7  # schema cookies of this process's images


class StageBuilder:
    """A small SQLite database of rows for some tables, built in the helper process.

    Rows are given as columns (:meth:`add_columns`) or as rows (:meth:`add`); they are turned into
    Arrow arrays and written by the ADBC SQLite driver (``adbc_ingest``), which binds a column at a
    time in C: about a third of what binding row tuples through ``sqlite3.executemany`` costs (a
    million rows of 11 columns: 2.0 s against 6.2 s). A table with a column Arrow cannot hold as
    one type (say numbers and text mixed) is bound by ``sqlite3`` instead. The database is
    written to a file in ``directory`` (default: ``/dev/shm`` where there is one, a memory file
    system), whose image :func:`take` reads."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = directory if directory is not None else default_directory()
        self.tables: dict[str, tuple[str, ...]] = {}
        self._arrow: dict[str, list[pa.Table]] = {}
        self._rows: dict[str, list[Sequence]] = {}

    def add(self, table: str, cols: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Append rows (in the order of ``cols``) to the stage table ``table``."""
        rows = list(rows)
        columns = list(zip(*rows)) if rows else [() for _ in cols]
        self.add_columns(table, cols, columns)

    def add_columns(self, table: str, cols: Sequence[str], columns: Sequence[Sequence]) -> None:
        """Append rows given as columns (one sequence per name of ``cols``, all as long)."""
        cols = tuple(cols)
        if table not in self.tables:
            self.tables[table] = cols
        elif self.tables[table] != cols:
            raise ValueError(f"stage table {table}: columns {cols} after {self.tables[table]}")
        if len({len(c) for c in columns}) > 1:
            raise ValueError(f"stage table {table}: columns of different lengths")
        if table not in self._rows:
            try:
                self._arrow.setdefault(table, []).append(pa.table([pa.array(c) for c in columns], names=list(cols)))
                return
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed types: sqlite3 binds them
                self._rows[table] = _rows_of(self._arrow.pop(table, []))
        self._rows[table].extend(zip(*columns))

    def file(self) -> str:
        """Write the database to a file of its own in :attr:`directory` and return its name (the
        caller removes it: :func:`take`); the builder is spent.

        Each image gets a schema cookie of its own: the importing process keeps the stage's
        schema (where each table starts) cached while the cookie stays the same, and two images
        whose tables start on other pages must not pass for one another."""
        global _images
        _images += 1
        fd, name = tempfile.mkstemp(prefix="callmon-stage-", suffix=".db", dir=self.directory)
        os.close(fd)
        try:
            tables = {}
            for table, parts in self._arrow.items():
                try:
                    tables[table] = _concat(parts)
                except (pa.ArrowInvalid, pa.ArrowTypeError):  # parts of other types: sqlite3 binds them
                    self._rows[table] = _rows_of(parts)
            if tables:
                with adbc_sqlite.connect(name) as adbc, adbc.cursor() as cur:
                    for table, data in tables.items():
                        cur.adbc_ingest(table, data, mode="create")
                    adbc.commit()
            db = sqlite3.connect(name)
            try:
                for table, rows in self._rows.items():
                    cols = self.tables[table]
                    db.execute(f"CREATE TABLE {table} ({', '.join(cols)})")
                    db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})", rows)
                db.execute(f"PRAGMA schema_version = {_images}")
                db.commit()
            finally:
                db.close()
        except BaseException:
            os.unlink(name)
            raise
        finally:
            self._arrow, self._rows = {}, {}
        return name


def take(name: str | Path) -> bytes:
    """The image of a stage database written by :meth:`StageBuilder.file`, its file removed.

    The file is the image (no journal is left after its commit): read as it is, five times faster
    than ``serialize()``, which reads it a page at a time through SQLite."""
    try:
        return Path(name).read_bytes()
    finally:
        os.unlink(name)


def _rows_of(parts: list[pa.Table]) -> list[tuple]:
    """The rows of Arrow tables as tuples of Python values."""
    return [row for part in parts for row in zip(*part.to_pydict().values())]


def _concat(parts: list[pa.Table]) -> pa.Table:
    """The parts of a stage table as one (integers and reals in one column: reals; a column of
    None only: integer nulls, which the driver can declare)."""
    table = pa.concat_tables(parts, promote_options="permissive")
    for k, column in enumerate(table.columns):
        if pa.types.is_null(column.type):
            table = table.set_column(k, table.field(k).name, column.cast(pa.int64()))
    return table


def import_directory() -> str:
    """A new directory for one import's stage files (:meth:`StageBuilder.file`), in memory where
    ``/dev/shm`` is, named after this process (the import removes it when it ends). The
    directories of imports whose process is gone (killed before it could remove its own) are
    removed first, from both places. Where ``/dev/shm`` has less than :data:`IMPORT_ROOM` free (a
    container's is 64 MB by default), the temporary directory is taken instead."""
    shm = default_directory()
    for place in {shm, tempfile.gettempdir()} - {None}:
        for old in Path(place).glob(f"{_IMPORT_PREFIX}*"):
            pid = old.name[len(_IMPORT_PREFIX):].partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    parent = shm if shm is not None and shutil.disk_usage(shm).free >= IMPORT_ROOM else tempfile.gettempdir()
    return tempfile.mkdtemp(prefix=f"{_IMPORT_PREFIX}{os.getpid()}-", dir=parent)


_IMPORT_PREFIX = "callmon-import-"
# room an import's stage files may take at once: a few MB each, up to about seven of them (the
# blocks read ahead, one received, one being sent, one being written)
IMPORT_ROOM = 128 << 20


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def default_directory() -> str | None:
    """Where stage files are written: ``/dev/shm`` (memory) when it is there, else the temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


_MARKS = "temp._stage_marks"  # per staged call: skip it, or the callback_id its row gets


def attach(conn: Connection, image: bytes) -> None:
    """Make ``image`` readable as schema ``stage`` on the connection, replacing the last one.

    The stage is only ever read: a database image replaced while the transaction holds changes
    to it would leave them behind (SQLite reports the image malformed). What the importing
    process decides about staged calls (:func:`skip`, :func:`set_callback_ids`) goes to a
    temporary table that :func:`copy` joins."""
    raw = conn.connection.driver_connection
    if not any(name == SCHEMA for _, name, _ in raw.execute("PRAGMA database_list")):
        raw.execute(f"ATTACH DATABASE ':memory:' AS {SCHEMA}")
    raw.deserialize(image, name=SCHEMA)
    raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_MARKS.split('.')[1]} "
                "(call_id TEXT PRIMARY KEY, skip INTEGER, callback_id INTEGER)")
    raw.execute(f"DELETE FROM {_MARKS}")


def skip(conn: Connection, call_ids: Iterable[str]) -> None:
    """Leave the rows of these calls out when copying (they are derived otherwise)."""
    raw = conn.connection.driver_connection
    raw.executemany(f"INSERT INTO {_MARKS} (call_id, skip) VALUES (?, 1) "
                    "ON CONFLICT (call_id) DO UPDATE SET skip = 1", [(c,) for c in call_ids])


def set_callback_ids(conn: Connection, pairs: Iterable[tuple[int, str]]) -> None:
    """``(callback_id, call_id)``: the callback_id the call's row gets when copied."""
    raw = conn.connection.driver_connection
    raw.executemany(f"INSERT INTO {_MARKS} (callback_id, call_id) VALUES (?, ?) "
                    "ON CONFLICT (call_id) DO UPDATE SET callback_id = excluded.callback_id", pairs)


def copy(conn: Connection, table: str, cols: Sequence[str], *, ignore: bool = False,
         shapes: tuple[str, Sequence[str]] | None = None, constants: Mapping[str, object] | None = None) -> int:
    """Copy the rows of ``stage.<table>`` into ``<table>``; return how many went in
    (``ignore``: rows that break a unique key are skipped, ``INSERT OR IGNORE``).

    ``constants``: columns every row has the same value in (say the journal's pbx and file id),
    given here instead of staged with each row.

    ``shapes``: ``(stage table, its columns)`` of values many rows share; each row names its
    shape by ``sid`` and gets them by a join (the helper binds only the rows' own values). A
    table with a ``call_id`` column leaves out the calls marked by :func:`skip` and takes the
    callback_id given by :func:`set_callback_ids`."""
    if not has(conn, table):
        return 0
    raw = conn.connection.driver_connection
    values = [f"s.{c}" for c in cols]
    source = f"FROM {SCHEMA}.{table} s"
    names = list(cols)
    if shapes is not None:
        shape_table, shape_cols = shapes
        names += shape_cols
        values += [f"h.{c}" for c in shape_cols]
        source += f" JOIN {SCHEMA}.{shape_table} h ON h.sid = s.sid"
    if "call_id" in cols:
        source += f" LEFT JOIN {_MARKS} m ON m.call_id = s.call_id WHERE m.skip IS NULL"
        values = ["coalesce(m.callback_id, s.callback_id)" if v == "s.callback_id" else v for v in values]
    constants = dict(constants or {})
    names += list(constants)
    values += ["?"] * len(constants)
    before = raw.total_changes
    raw.execute(f"INSERT {'OR IGNORE ' if ignore else ''}INTO main.{table} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} {source}", tuple(constants.values()))
    return raw.total_changes - before


def has(conn: Connection, table: str) -> bool:
    """Does the attached stage hold a table of that name?"""
    raw = conn.connection.driver_connection
    q = f"SELECT 1 FROM {SCHEMA}.sqlite_schema WHERE type = 'table' AND name = ?"
    return raw.execute(q, (table,)).fetchone() is not None


def spread(conn: Connection, pbx: str, among: Sequence[str] | None = None) -> set[str]:
    """Linkedids of the staged journal rows that have more journal rows than the stage holds
    (rows from elsewhere: an earlier block, another file, the live listener). Run after the
    staged rows were copied into the journal. ``among``: only these can (the others are not
    looked up)."""
    raw = conn.connection.driver_connection
    if among is not None and not among:
        return set()
    which = "linkedid IS NOT NULL" if among is None else "linkedid IN (SELECT value FROM json_each(?))"
    q = (f"SELECT s.linkedid FROM (SELECT linkedid, count(*) AS n FROM {SCHEMA}.journal "
         f"WHERE {which} GROUP BY linkedid) s "
         "WHERE (SELECT count(*) FROM main.journal j WHERE j.pbx = ? AND j.linkedid = s.linkedid) > s.n")
    args = (pbx,) if among is None else (json.dumps(list(among)), pbx)
    return {lid for (lid,) in raw.execute(q, args)}


class Attached:
    """One staged block on the importing connection (its image attached as ``stage``): what the
    import does with it. The PostgreSQL counterpart is :class:`callmon.storage.pgstage.Block`.

    ``journal``: the journal's columns the stage holds, and ``constants`` those every row has
    the same value in (:func:`copy`)."""

    def __init__(self, conn: Connection, name: str | Path, journal: Sequence[str] = (),
                 constants: Mapping[str, object] | None = None) -> None:
        self.conn = conn
        self._journal, self._constants = tuple(journal), dict(constants or {})
        attach(conn, take(name))

    def copy_journal(self) -> int:
        """Append the staged journal rows, skipping those already there; how many went in."""
        return copy(self.conn, "journal", self._journal, ignore=True, constants=self._constants)

    def spread(self, pbx: str, among: Sequence[str] | None = None) -> set[str]:
        return spread(self.conn, pbx, among)

    def skip(self, call_ids: Iterable[str]) -> None:
        skip(self.conn, call_ids)

    def set_callback_ids(self, pairs: Iterable[tuple[int, str]]) -> None:
        set_callback_ids(self.conn, pairs)

    def copy_calls(self, own_cols: Sequence[str], shape_cols: Sequence[str], agent_cols: Sequence[str]) -> None:
        """Copy the staged calls (each with its shape's columns), legs and agent results."""
        from callmon.storage.store import LEG_COLUMNS  # (the store builds on this module)

        copy(self.conn, "calls", own_cols, shapes=("call_shapes", shape_cols))
        copy(self.conn, "legs", LEG_COLUMNS)
        if agent_cols:
            copy(self.conn, "agent_results", agent_cols)
