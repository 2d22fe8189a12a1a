"""Rows into PostgreSQL with ``COPY``, a block at a time, from columns.

psycopg's ``Copy.write_row`` formats one row per Python call: for an import of a million
Master.csv rows (journal, calls, legs, agent results) that was about a third of the importing
process's CPU. Here a block's columns become an Arrow table, Arrow's CSV writer formats it in C
(text quoted, NULL an empty unquoted field, doubles in their shortest exact form, booleans
``true``/``false``), and the bytes go to ``COPY ... FROM STDIN (FORMAT csv)`` in one write. A
block Arrow cannot type (a column of mixed kinds, an integer beyond 64 bits) is written row by row
as text (``str``), which PostgreSQL reads as it would read psycopg's text of the value.

:func:`copy_new` appends rows to a table with a unique key, skipping rows already there (a file
imported again): the rows are copied straight into the table inside a savepoint, and only when
that breaks the key are they copied into a temporary table and moved with ``INSERT ... SELECT ...
ON CONFLICT DO NOTHING`` (the same bytes: they are formatted once).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv

_CSV = pa_csv.WriteOptions(include_header=False, batch_size=8192)


def csv_block(columns: Sequence[Sequence]) -> bytes:
    """The rows of ``columns`` (one sequence per column, all as long) as PostgreSQL's CSV
    format reads them.

    >>> csv_block([["a", "", None], [1.5, None, 2.0], [True, False, None]])
    b'"a",1.5,true\\n"",,false\\n,2,\\n'
    """
    return csv_of(pa.table([arrow(c) for c in columns], names=[f"c{k}" for k in range(len(columns))]))


def arrow(column: Sequence) -> pa.Array:
    """A column as an Arrow array that :func:`csv_of` writes as PostgreSQL reads it: values of
    mixed kinds (or an integer beyond 64 bits) as their text, NULLs only as text NULLs.

    >>> arrow([1, "a", None]).to_pylist(), arrow([None]).type
    (['1', 'a', None], DataType(string))
    """
    try:
        array = pa.array(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in column], pa.string())
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array  # null: no CSV writer


def csv_of(table: pa.Table) -> bytes:
    """An Arrow table's rows as PostgreSQL's CSV format reads them (no header)."""
    out = io.BytesIO()
    pa_csv.write_csv(table, out, _CSV)
    return out.getvalue()


def copy_data(raw: psycopg.Connection, table: str, cols: Sequence[str], data: bytes) -> int:
    """``COPY`` rows in PostgreSQL's CSV format (:func:`csv_block`) into ``table``; return how
    many went in."""
    if not data:
        return 0
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(data)
        return cur.rowcount


def copy_columns(raw: psycopg.Connection, table: str, cols: Sequence[str], columns: Sequence[Sequence]) -> int:
    """``COPY`` rows given as columns into ``table``; return how many went in."""
    if not columns or not len(columns[0]):
        return 0
    return copy_data(raw, table, cols, csv_block(columns))


def copy_rows(raw: psycopg.Connection, table: str, cols: Sequence[str], rows: Sequence[Sequence]) -> int:
    """:func:`copy_columns` of rows given as tuples in the order of ``cols``."""
    if not rows:
        return 0
    return copy_columns(raw, table, cols, list(zip(*rows)))


def copy_new(raw: psycopg.Connection, table: str, cols: Sequence[str], columns: Sequence[Sequence] | None = None,
             *, data: bytes | None = None) -> int:
    """Append rows given as columns (or as their :func:`csv_block` ``data``) to ``table``,
    skipping those that break a unique key of it (already there, or twice among them); return
    how many went in. In the caller's transaction."""
    if data is None:
        data = csv_block(columns) if columns and len(columns[0]) else b""
    if not data:
        return 0
    with raw.cursor() as cur:
        cur.execute("SAVEPOINT callmon_copy_new")
        try:
            n = copy_data(raw, table, cols, data)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT callmon_copy_new")
        else:
            cur.execute("RELEASE SAVEPOINT callmon_copy_new")
            return n
        stage = f"_callmon_new_{table}"
        names = ", ".join(cols)
        # the stage's columns take the table's types (the same text reads as the same values);
        # it lives as long as the transaction (a later one may have other columns)
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
                    f"SELECT {names} FROM {table} WITH NO DATA")
        copy_data(raw, stage, cols, data)
        cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
        n = cur.rowcount
        cur.execute(f"TRUNCATE {stage}")
        return n
