"""A block's rows handed to SQLite as a database image, copied in by SQLite itself.

Binding values one by one is most of what an insert costs the interpreter (a million calls of
34 columns: about 6 s before SQLite touches a page), and only one process can write a SQLite
database. So a helper process binds a block's rows into a small in-memory database
(:class:`StageBuilder`), sends its image (:meth:`StageBuilder.image`, a few MB of bytes), and
the importing process puts the image beside its own database under the schema name ``stage``
(:func:`attach`, ``sqlite3.Connection.deserialize``) and copies the rows with one
``INSERT ... SELECT`` per table (:func:`copy`), which runs in SQLite without the interpreter.

The stage tables have the columns of the real ones (less ``id``) and no types: each value keeps
the type it was bound with and takes the real column's affinity when copied, exactly as if it
had been bound there.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Connection

SCHEMA = "stage"
_images = int.from_bytes(os.urandom(3), "big") << 7  # schema cookies of this process's images


class StageBuilder:
    """An in-memory SQLite database of rows for some tables, built in the helper process."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.tables: dict[str, tuple[str, ...]] = {}

    def add(self, table: str, cols: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Append rows (in the order of ``cols``) to the stage table ``table``."""
        cols = tuple(cols)
        if table not in self.tables:
            self.db.execute(f"CREATE TABLE {table} ({', '.join(cols)})")
            self.tables[table] = cols
        elif self.tables[table] != cols:
            raise ValueError(f"stage table {table}: columns {cols} after {self.tables[table]}")
        self.db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})", rows)

    def image(self) -> bytes:
        """The database as bytes (``sqlite3.Connection.serialize``); the builder is closed.

        Each image gets a schema cookie of its own: the importing process keeps the stage's
        schema (where each table starts) cached while the cookie stays the same, and two images
        whose tables start on other pages must not pass for one another."""
        global _images
        _images += 1
        self.db.execute(f"PRAGMA schema_version = {_images}")
        self.db.commit()
        data = self.db.serialize()
        self.db.close()
        return data


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
         shapes: tuple[str, Sequence[str]] | None = None) -> int:
    """Copy the rows of ``stage.<table>`` into ``<table>``; return how many went in
    (``ignore``: rows that break a unique key are skipped, ``INSERT OR IGNORE``).

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
    before = raw.total_changes
    raw.execute(f"INSERT {'OR IGNORE ' if ignore else ''}INTO main.{table} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} {source}")
    return raw.total_changes - before


def has(conn: Connection, table: str) -> bool:
    """Does the attached stage hold a table of that name?"""
    raw = conn.connection.driver_connection
    q = f"SELECT 1 FROM {SCHEMA}.sqlite_schema WHERE type = 'table' AND name = ?"
    return raw.execute(q, (table,)).fetchone() is not None


def spread(conn: Connection, pbx: str) -> set[str]:
    """Linkedids of the staged journal rows that have more journal rows than the stage holds
    (rows from elsewhere: an earlier block, another file, the live listener). Run after the
    staged rows were copied into the journal."""
    raw = conn.connection.driver_connection
    q = (f"SELECT s.linkedid FROM (SELECT linkedid, count(*) AS n FROM {SCHEMA}.journal "
         "WHERE linkedid IS NOT NULL GROUP BY linkedid) s "
         "WHERE (SELECT count(*) FROM main.journal j WHERE j.pbx = ? AND j.linkedid = s.linkedid) > s.n")
    return {lid for (lid,) in raw.execute(q, (pbx,))}
