"""A block's rows for PostgreSQL, made by an import's helper process: the PostgreSQL
counterpart of :mod:`callmon.storage.stage`.

A staged import into SQLite has its helper bind each block's rows into a small SQLite database.
PostgreSQL takes rows by ``COPY`` (:mod:`callmon.storage.pgcopy`), so here the helper makes what
``COPY`` is given: the journal's rows as CSV, ready to send (every column of them is known
beforehand), and the rows of the block's single-record calls (``calls``, their shapes, ``legs``,
``agent_results``) as Arrow tables. Those are not CSV yet because the importing process decides
two things about them first, as with SQLite's stage: some calls are left out (their inputs are
partly elsewhere: :meth:`Block.skip`) and some get the ``callback_id`` of the obligation they
open (:meth:`Block.set_callback_ids`). It then formats them with Arrow's CSV writer, which runs in
C (:meth:`Block.copy_calls`).

The helper writes a block to a file of the import's directory (:meth:`Builder.file`), the
importing process reads and removes it (:func:`take`), as with SQLite's stage files.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from callmon.storage import pgcopy


class Builder:
    """A block's rows for PostgreSQL, built in the helper process: the journal's CSV
    (:meth:`add_journal`) and tables given as columns or rows (the interface of
    :class:`~callmon.storage.stage.StageBuilder`, which
    :meth:`~callmon.service.pipeline.Preparer.stage_records` fills)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = directory
        self.journal = b""
        self.linkedids: dict[str, int] = {}
        self.tables: dict[str, tuple[str, ...]] = {}
        self._parts: dict[str, list[pa.Table]] = {}

    def add_journal(self, data: bytes, linkedids: Mapping[str, int]) -> None:
        """The block's journal rows in PostgreSQL's CSV format (:func:`~callmon.storage.pgcopy.csv_block`
        of every journal column), and how many of them each linkedid has."""
        self.journal, self.linkedids = data, dict(linkedids)

    def add(self, table: str, cols: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Append rows (in the order of ``cols``) to ``table``."""
        rows = list(rows)
        self.add_columns(table, cols, list(zip(*rows)) if rows else [() for _ in cols])

    def add_columns(self, table: str, cols: Sequence[str], columns: Sequence[Sequence]) -> None:
        """Append rows given as columns (one sequence per name of ``cols``, all as long); a
        column of values of mixed kinds is kept as their text (:func:`~callmon.storage.pgcopy.arrow`)."""
        cols = tuple(cols)
        if self.tables.setdefault(table, cols) != cols:
            raise ValueError(f"stage table {table}: columns {cols} after {self.tables[table]}")
        if len({len(c) for c in columns}) > 1:
            raise ValueError(f"stage table {table}: columns of different lengths")
        self._parts.setdefault(table, []).append(pa.table([pgcopy.arrow(c) for c in columns], names=list(cols)))

    def file(self) -> str:
        """Write the block to a file of its own in :attr:`directory` and return its name (the
        importing process reads and removes it: :func:`take`); the builder is spent."""
        tables = {}
        for table, parts in self._parts.items():
            tables[table] = parts[0] if len(parts) == 1 else _concat(parts)
        fd, name = tempfile.mkstemp(prefix="callmon-stage-", suffix=".pickle", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((self.journal, self.linkedids, tables), fh, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            os.unlink(name)
            raise
        finally:
            self._parts, self.journal = {}, b""
        return name


def _concat(parts: list[pa.Table]) -> pa.Table:
    """The parts of a table as one; parts whose types differ, as text (what PostgreSQL reads)."""
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names = parts[0].column_names
        return pa.table([pgcopy.arrow([v for p in parts for v in p.column(k).to_pylist()]) for k in range(len(names))],
                        names=names)


def take(name: str | Path) -> tuple[bytes, dict[str, int], dict[str, pa.Table]]:
    """What :meth:`Builder.file` wrote, its file removed: ``(journal CSV, linkedid counts, tables)``."""
    try:
        with open(name, "rb") as fh:
            return pickle.load(fh)
    finally:
        os.unlink(name)


class Block:
    """One staged block on the importing connection: what the import does with it, as with
    SQLite's attached stage (:class:`~callmon.storage.stage.Attached`)."""

    def __init__(self, conn, name: str | Path, store) -> None:
        """``store``: the :class:`~callmon.storage.Store` of ``conn``."""
        self.conn, self.store = conn, store
        self.journal, self.linkedids, self.tables = take(name)
        self._skipped: set[str] = set()
        self._callback_ids: dict[str, int] = {}

    @property
    def _raw(self):
        return self.conn.connection.driver_connection

    def copy_journal(self) -> int:
        """Append the block's journal rows, skipping those already there; how many went in."""
        from callmon.storage.store import JOURNAL_COLUMNS  # (the store builds on this module)

        return pgcopy.copy_new(self._raw, "journal", JOURNAL_COLUMNS, data=self.journal)

    def spread(self, pbx: str, among: Sequence[str] | None = None) -> set[str]:
        """Linkedids of the block's journal rows that have more journal rows than the block
        (rows from elsewhere); run after :meth:`copy_journal`. ``among``: only these can (the
        others are not looked up)."""
        mine = self.linkedids if among is None else {lid: self.linkedids[lid] for lid in among if lid in self.linkedids}
        stored = self.store.journal_counts(self.conn, pbx, mine)
        return {lid for lid, n in stored.items() if n > mine[lid]}

    def skip(self, call_ids: Iterable[str]) -> None:
        """Leave the rows of these calls out when copying (they are derived otherwise)."""
        self._skipped.update(call_ids)

    def set_callback_ids(self, pairs: Iterable[tuple[int, str]]) -> None:
        """``(callback_id, call_id)``: the callback_id the call's row gets when copied."""
        self._callback_ids.update((call_id, callback_id) for callback_id, call_id in pairs)

    def copy_calls(self, own_cols: Sequence[str], shape_cols: Sequence[str], agent_cols: Sequence[str]) -> None:
        """``COPY`` the block's calls (each with its shape's columns and its callback_id), legs
        and agent results, less the skipped calls'."""
        from callmon.storage.store import LEG_COLUMNS

        calls = self.tables.get("calls")
        if calls is None or not calls.num_rows:
            return
        calls = self._kept(calls)
        if self._callback_ids:
            ids = pa.array(list(self._callback_ids), pa.string())
            given = pa.array(list(self._callback_ids.values()), pa.int64()).take(pc.index_in(calls["call_id"], ids))
            calls = calls.set_column(calls.column_names.index("callback_id"), "callback_id", given)
        shapes = self.tables["call_shapes"]
        sid = calls["sid"]
        columns = [calls[c] for c in own_cols] + [shapes[c].take(sid) for c in shape_cols]
        self._copy("calls", [*own_cols, *shape_cols], pa.table(columns, names=[*own_cols, *shape_cols]))
        if "legs" in self.tables:
            self._copy("legs", LEG_COLUMNS, self._kept(self.tables["legs"]))
        if agent_cols and "agent_results" in self.tables:
            self._copy("agent_results", agent_cols, self._kept(self.tables["agent_results"]))

    def _kept(self, table: pa.Table) -> pa.Table:
        if not self._skipped:
            return table
        return table.filter(pc.invert(pc.is_in(table["call_id"], pa.array(sorted(self._skipped), pa.string()))))

    def _copy(self, name: str, cols: Sequence[str], table: pa.Table) -> None:
        if table.num_rows:
            pgcopy.copy_data(self._raw, name, cols, pgcopy.csv_of(table.select(list(cols))))

