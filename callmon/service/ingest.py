"""``callmon ingest`` of Asterisk's own files: Master.csv, CEL and queue_log.

A file is read in blocks (:mod:`callmon.sources.files`); each block's sound rows are journaled
(``kind`` cdr/cel/queue_log, the row's natural key, its time, linkedid, uniqueid and columns),
then the calls the block touched are derived and stored through the pipeline, all in ONE
transaction per file: a file goes in whole or not at all, and a second import of it finds
every row already journaled and changes nothing.

Deriving a block's calls is not quadratic: a call whose every journal entry came with this block
(the common case: the rows of a call are close together in a file) is assembled from the rows in
hand; a call with entries from elsewhere (an earlier block of the file, another file, the AMI
listener) is derived again from all of them (:func:`callmon.service.reconcile.calls_of_linkedids`), which also
reconciles it with what the listener recorded. Of the calls in hand, those of a single
Master.csv record (most of a CDR file) are built, scored and stored as columns
(:class:`~callmon.calls.columnar.SingleRecords`,
:meth:`~callmon.service.pipeline.Pipeline.write_records`), the others as record objects.

A large Master.csv into SQLite or PostgreSQL (:attr:`FileIngest.stage_min_bytes`) is imported by two
processes: a helper reads each block as columns (no row object per record but for the calls of
several records), prepares its rows and binds them into a small stage database, whose image the importing process attaches and copies into its own with one
``INSERT ... SELECT`` per table (:mod:`callmon.storage.stage`). Binding values is most of what an
insert costs the interpreter, and a SQLite database has one writer: this way the binding runs
beside the writing instead of before it, and the same rows arrive (tested). Into PostgreSQL the
helper makes what ``COPY`` takes instead: the journal's rows as CSV, the calls' rows as Arrow
columns (:mod:`callmon.storage.pgstage`). Either way the importing process assembles and scores
the block's calls of several records in a thread while the staged rows are copied (SQLite copies
them, and PostgreSQL writes them, without holding the interpreter).

Finding those calls costs a look-up per linkedid of the block in the journal. When the journal
held nothing of the PBX before the import and nobody else writes it meanwhile (a first import),
a linkedid can only have rows elsewhere if an earlier block of the file showed it: the helper
remembers the linkedids it has sent in a Bloom filter (:class:`Recurring`) and names those of
each block it may have seen before; only they are looked up.

Such an import also loads first and indexes after: when its rows will be a large part of the
calls table (:meth:`~callmon.storage.Store.load_first`), ``ix_calls_customer`` (a random key:
customer numbers) is dropped inside its transaction and built again once the rows are in, and
the callback obligations of the whole file are derived once at its end
(:meth:`~callmon.service.obligations.Obligations.defer`, ``settle``) instead of block by block.
It is still one transaction: a reader meanwhile sees the database as it was, indexes and all,
or waits while the import holds it alone; a failed or killed import leaves it as it was (tested).
On PostgreSQL ``DROP INDEX`` locks its table until the commit: there it drops more indexes, and
only when no other session is connected and the import is not ``--shared``; otherwise the
obligations are derived block by block, with the indexes in place.

Rejected lines are written to a rejects file (``<name>.rejects.csv``: file, line, reason, the
start of the line with caller numbers masked) beside the input or in the directory given.
"""

from __future__ import annotations

import csv
import gc
import logging
import multiprocessing
import queue
import re
import shutil
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from collections import Counter
from itertools import compress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from rbloom import Bloom

from callmon.storage import Connection

from callmon.service.reconcile import calls_of_linkedids, split_single as _split_single
from callmon.core.errors import InputError
from callmon.calls import FileCalls
from callmon.calls.columnar import SingleRecords, single_mask
from callmon.sources.files import CdrRow, Reject, observed_utc_offset, read_cdr_batches, read_cel_batches, read_queue_log_batches
from callmon.sources.files.cdr import FIELDS as CDR_FIELDS, natural_key, zone_warning
from callmon.sources.files.reread import FileIdentity, identify
from callmon.calls.parties import Parties
from callmon.sources.files.source import TextSource
from callmon.metrics.numbers import mask
from callmon.metrics.scoring import ScoredCall
from callmon.core.model import Call
from callmon.service.pipeline import Pipeline, PreparedRecords, Preparer
from callmon.storage import pgcopy, pgstage, stage
from callmon.storage.store import JOURNAL_COLUMNS, LOAD_FIRST_INDEXES, JournalRow

log = logging.getLogger(__name__)

READERS = {"cdr": read_cdr_batches, "cel": read_cel_batches, "queue_log": read_queue_log_batches}
REJECTS_SUFFIX = ".rejects.csv"
# the page cache of a staged import's connection (KiB): its indexes with random keys (customer
# numbers) outgrow the usual 64 MB early; measured at 3M rows: 154 s against 169 s, +190 MB
STAGED_CACHE_KIB = 256 << 10
# a Master.csv at least this large (bytes) into SQLite or PostgreSQL is imported by two processes (FileIngest)
STAGE_MIN_BYTES = 32 << 20
# bytes per block: a block's rows, calls and scores are in memory at once; 2 MB keeps the peak near
# 350 MB however large the file (8 MB blocks: ~500 MB, and freed blocks fragment the heap)
BLOCK_BYTES = 2 << 20
# blocks the helper process of a staged import may be ahead of the one being written (each ~10 MB in
# memory: 8 gained nothing over 4 at 1M rows, and a 10M import keeps its peak under 1 GB)
READ_AHEAD = 4
# bytes per Master.csv row, about (a staged import's estimate of its rows: Store.load_first)
ROW_BYTES = 300
# the journal columns a staged import's helper binds per row (the others are the same for every
# row of the file: given when the stage is copied)
JOURNAL_STAGED = ("event_key", "ts", "name", "linkedid", "uniqueid", "payload", "line")
# caller numbers in a rejected line: national (0...), international (+...) or grouped (010-1234-5678);
# not epoch times and uniqueids (digits next to a dot)
_NUMBER = re.compile(r"(?<![\w.])(\+\d{7,15}|0\d{6,14}|0\d{1,2}-\d{3,4}-\d{4})(?![\w.])")


@dataclass
class FileReport:
    """What one file's import did, for the summary line and the tests."""

    source: str
    kind: str
    zone: str | None = None
    rows: int = 0
    new_rows: int = 0
    calls: int = 0
    incomplete_calls: int = 0
    rejected: int = 0
    rejects_file: Path | None = None
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)


def mask_numbers(text: str) -> str:
    """``text`` with every caller number in it masked the one way callmon masks numbers.

    >>> mask_numbers('"","01012345678","2001",1795376562.0')
    '"","010-****-5678","2001",1795376562.0'
    """
    return _NUMBER.sub(lambda m: mask(m.group(0)), text)


# a file row is journaled as its line, as read (the file's identity and layout are in the
# journal_files row the journal's file_id names; callmon.sources.files.reread reads it again)
def _cdr_entry(r, raw: str) -> JournalRow:
    uid = r.uniqueid or None
    return JournalRow("cdr", r.key, r.start, r.disposition or "CDR", r.linkedid or uid, uid, raw, r.line)


def _cel_entry(r, raw: str) -> JournalRow:
    return JournalRow("cel", r.key, r.eventtime, r.eventtype, r.linkedid or r.uniqueid or None, r.uniqueid or None,
                      raw, r.line)


def _ql_entry(r, raw: str) -> JournalRow:
    callid = r.callid if r.callid not in ("", "NONE") else None
    return JournalRow("queue_log", r.key, r.time, r.event, callid, callid, raw, r.line)


ENTRIES = {"cdr": _cdr_entry, "cel": _cel_entry, "queue_log": _ql_entry}


def cdr_keys(columns: dict[str, list]) -> list[str]:
    """:attr:`CdrRow.key` of each record given as columns (:attr:`~callmon.sources.files.Batch.columns`)."""
    keys = list(map(natural_key, columns["uniqueid"], columns["sequence"]))
    if None in keys:
        fields = [columns[name] for name in CDR_FIELDS]
        keys = [k if k is not None else CdrRow._make([c[i] for c in fields]).key for i, k in enumerate(keys)]
    return keys


def unique_cdr_columns(columns: dict[str, list], raw: list[str]) -> tuple[dict[str, list], list[str], list[str]]:
    """:func:`_unique_entries` of records given as columns: ``(columns, their keys, their lines)``,
    a record twice in the block (by its key) kept once, where it first came."""
    keys = cdr_keys(columns)
    first: dict[str, int] = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1)))  # each key's first position
    if len(first) == len(keys):
        return columns, keys, raw
    keep = sorted(first.values())
    return {name: [c[i] for i in keep] for name, c in columns.items()}, [keys[i] for i in keep], [raw[i] for i in keep]


def cdr_journal_columns(pbx: str, source: str, columns: dict[str, list], keys: list[str], raw: list[str],
                        file_id: int | None) -> list[list]:
    """The journal's columns (:data:`JOURNAL_COLUMNS`) of records given as columns: the values
    :func:`~callmon.storage.store.journal_columns` gives for their :func:`_cdr_entry` rows."""
    n, uid = len(keys), [u or None for u in columns["uniqueid"]]
    return [[pbx] * n, ["cdr"] * n, keys, columns["start"], [(d or "CDR")[:64] for d in columns["disposition"]],
            [lid or u for lid, u in zip(columns["linkedid"], uid)], uid, raw, [source[:255]] * n, columns["line"],
            [time.time()] * n, [file_id] * n]


def split_single_columns(columns: dict[str, list], config, pbx: str, parties: Parties) -> tuple[SingleRecords, list[tuple]]:
    """:func:`~callmon.service.reconcile.split_single` of records given as columns: the
    single-record calls as columns, the other records as plain tuples (:class:`CdrRow` order)."""
    alone = single_mask(columns["linkedid"], columns["uniqueid"], columns["dstchannel"])
    records = SingleRecords.of_columns({name: list(compress(c, alone)) for name, c in columns.items()}, config, pbx, parties)
    fields = [columns[name] for name in CDR_FIELDS]
    rest = [tuple(c[i] for c in fields) for i, one in enumerate(alone) if not one]
    rest.extend(map(tuple, records.rest))
    return records, rest


class Recurring:
    """Which linkedids of a block an earlier block of the file may have had: a Bloom filter of
    those seen (about 1.2 MB per million rows at 1% false positives). A linkedid it names may
    be new (it is then looked up for nothing); one it does not name is new for certain.

    >>> seen = Recurring(1000)
    >>> seen.block(["1.1", "1.2", None, "1.2"]), seen.block(["1.2", "1.3"])
    ([], ['1.2'])
    """

    def __init__(self, expected: int):
        self._seen = Bloom(max(expected, 1000), 0.01)

    def block(self, linkedids: Iterable[str | None]) -> list[str]:
        """The distinct linkedids of this block that may have come before (in order); then
        remember them all."""
        ids = list(dict.fromkeys(filter(None, linkedids)))
        earlier = [lid for lid in ids if lid in self._seen]
        self._seen.update(ids)
        return earlier


class RejectsFile:
    """The rejects of one input, written as CSV when the first one comes (no rejects, no file)."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._fh = None
        self._writer = None

    def write(self, rejects: Sequence[Reject]) -> None:
        if not rejects:
            return
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(("file", "line", "reason", "text"))
        self._writer.writerows((r.file, r.line, r.reason, mask_numbers(r.text)) for r in rejects)
        self.count += len(rejects)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def rejects_path(path: Path, rejects_dir: Path | None) -> Path:
    """Where the rejects of ``path`` go: ``<name>.rejects.csv`` beside it, or in ``rejects_dir``."""
    return (rejects_dir or path.parent) / (path.name + REJECTS_SUFFIX)


@contextmanager
def fewer_collections(first_generation: int = 50_000):
    """Let the cyclic garbage collector run less often while a file is imported.

    An import allocates millions of short-lived rows, tuples and dicts; with the default
    thresholds (a young collection every 700 allocations, and full collections that walk every
    object alive) the collector took about a fifth of an import's time (measured: 21.6 s against
    17.4 s for 200,000 rows, the same peak RSS). What exists before the import (modules, the
    configuration) is frozen out of the collections meanwhile."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(first_generation, 20, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def file_zone(path: Path, kind: str, configured: str, pbx_zone: str) -> tuple[str, list[str]]:
    """The zone to read the file's local times in, and warnings for the user.

    ``configured`` is ``[pbx] cdr_timezone`` (default ``timezone``); ``auto`` judges a Master.csv
    by its uniqueids (:func:`~callmon.sources.files.observed_utc_offset`), whole hours only."""
    if configured != "auto":
        warning = zone_warning(TextSource.open(path), configured) if kind == "cdr" else None
        return configured, [warning] if warning else []
    if kind != "cdr":
        return pbx_zone, []
    offset = observed_utc_offset(path)
    if offset is None:
        return pbx_zone, [f"{path}: cdr_timezone = auto, but the file has no uniqueids; read in {pbx_zone}"]
    if offset == 0:
        return "UTC", []
    if offset.is_integer():
        return f"Etc/GMT{-int(offset):+d}", []  # the tz database's sign is inverted
    return pbx_zone, [f"{path}: times look written at UTC{offset:+g}, not a whole hour; read in {pbx_zone}"]


class FileIngest:
    """Imports files of one kind after another through one :class:`~callmon.service.pipeline.Pipeline`.

    ``progress(nbytes)`` is called after each block with the bytes it covered.
    """

    #: calls of one Master.csv record each are scored and written as columns
    #: (:meth:`~callmon.service.pipeline.Pipeline.write_records`); False: one record object each, as the
    #: other calls are (the tests compare the two)
    columnar = True

    def __init__(self, pipeline: Pipeline, *, rejects_dir: Path | None = None,
                 progress: Callable[[int], None] | None = None, alone: bool = True,
                 stage_min_bytes: int | None = STAGE_MIN_BYTES):
        """``stage_min_bytes``: a Master.csv at least this large (bytes) into SQLite or PostgreSQL is imported
        through a helper process and a stage database (:meth:`_ingest_staged`); None: never.
        ``alone``: a staged import takes a SQLite database for itself while it runs, when nobody
        else has it open (:meth:`~callmon.storage.Store.bulk_begin`), and on PostgreSQL drops
        indexes for the load when no other session is connected (:meth:`~callmon.storage.Store.load_first`);
        False: it stays readable by others."""
        self.pipeline = pipeline
        self.store = pipeline.store
        self.rejects_dir = rejects_dir
        self.progress = progress
        self.alone = alone
        self.stage_min_bytes = stage_min_bytes

    def ingest(self, path: str | Path, kind: str) -> FileReport:
        """Journal one file's sound rows and derive the calls they touch; all or nothing.

        Raises :class:`~callmon.core.errors.InputError` when the file cannot be read."""
        path = Path(path)
        cfg = self.pipeline.config
        zone, warnings = file_zone(path, kind, cfg.file_timezone, cfg.timezone)
        report = FileReport(str(path), kind, zone=zone, warnings=warnings)
        rejects = RejectsFile(rejects_path(path, self.rejects_dir))
        try:
            if self._stages(path, kind):  # the helper reads the file (and raises what it cannot read)
                self._ingest_staged(path, kind, zone, report, rejects)
            else:
                options = {"check_zone": False} if kind == "cdr" else {}
                batches = READERS[kind](path, cfg, zone=zone, block_bytes=BLOCK_BYTES, **options)
                self._ingest_blocks(batches, ENTRIES[kind], identify(kind, path, zone), report, rejects)
        finally:
            rejects.close()
        report.rejected = rejects.count
        report.rejects_file = rejects.path if rejects.count else None
        return report

    def _ingest_blocks(self, batches, entry, identity: FileIdentity, report: FileReport, rejects: RejectsFile) -> None:
        """The blocks of one file into the store, in this process, in one transaction."""
        previous: set[str] = set()
        source = identity.name
        with fewer_collections(), self.store.begin() as conn:
            file_id = self.store.journal_file(conn, self.pipeline.pbx, identity)
            for n, batch in enumerate(batches, 1):
                if n & (n - 1) == 0 and n > 1:  # blocks 2, 4, 8, ...: as the tables double
                    self.store.refresh_statistics(conn)
                rejects.write(batch.rejects)
                report.rows += len(batch.rows)
                rows, entries = _unique_entries(batch.rows, batch.raw, entry)
                new = self.store.journal(conn, self.pipeline.pbx, source, entries, file_id)
                report.new_rows += new
                if new:
                    previous = _count_calls(report, self._derive_block(conn, rows, entries, fresh=new == len(entries)),
                                            previous)
                if batch.encoding != "utf-8":
                    report.encoding = batch.encoding
                if self.progress:
                    self.progress(batch.nbytes)

    def _derive_block(self, conn: Connection, rows: list, entries: list[JournalRow], *,
                      fresh: bool = False) -> list[tuple[str, bool]]:
        """Derive and store the calls of one block (see the module docstring); return their
        ``(call_id, incomplete)``. ``fresh``: every entry of the block was new to the journal, so
        a call whose entries are all in the block was never stored before."""
        pbx, cfg = self.pipeline.pbx, self.pipeline.config
        per_call = Counter(e.linkedid for e in entries if e.linkedid)
        stored = self.store.journal_counts(conn, pbx, per_call)
        elsewhere = {lid for lid, n in per_call.items() if stored.get(lid, 0) > n}
        in_hand = [r for r, e in zip(rows, entries) if e.linkedid not in elsewhere] if elsewhere else rows
        calls: list[Call] = []
        derived: list[tuple[str, bool]] = []
        if in_hand and type(in_hand[0]) is CdrRow:
            records, in_hand = _split_single(in_hand, cfg, pbx, self.pipeline.parties)
            if self.columnar:
                self.pipeline.write_records(conn, records, fresh=fresh)
                derived = [(records.call_id(i), False) for i in range(records.n)]
            else:
                calls = records.calls()
        return derived + self._derive_rest(conn, in_hand, elsewhere, calls, fresh)

    def _derive_rest(self, conn: Connection, in_hand: list, elsewhere: set[str], calls: list[Call],
                     fresh: bool) -> list[tuple[str, bool]]:
        """Assemble and store the calls of the rows in hand (with ``calls`` already made), then
        derive again the calls with inputs elsewhere; return their ``(call_id, incomplete)``."""
        return self._store_rest(conn, [*map(self.pipeline.scorer, calls), *self._assemble(in_hand)], elsewhere, fresh)

    def _assemble(self, in_hand: list) -> list[ScoredCall]:
        """The calls of the rows in hand, assembled and scored (no database)."""
        assembler = FileCalls(self.pipeline.config, self.pipeline.pbx, parties=self.pipeline.parties)
        assembler.add(in_hand)
        return list(map(self.pipeline.scorer, assembler.finish()))

    def _store_rest(self, conn: Connection, scored: list[ScoredCall], elsewhere: set[str],
                    fresh: bool) -> list[tuple[str, bool]]:
        """Store scored calls, then derive again the calls with inputs elsewhere; return their
        ``(call_id, incomplete)``."""
        pbx, cfg = self.pipeline.pbx, self.pipeline.config
        self.pipeline.write_scored(conn, scored, fresh=fresh)
        calls = [s.call for s in scored]
        if elsewhere:
            again = calls_of_linkedids(self.store, conn, pbx, cfg, elsewhere, parties=self.pipeline.parties)
            self.pipeline.write(conn, again)
            calls.extend(again)
        return [(c.call_id, c.incomplete) for c in calls]

    # -- big Master.csv files: a helper process reads and prepares the rows -------------------------
    def _stages(self, path: Path, kind: str) -> bool:
        """Does this import go through a stage (:mod:`callmon.storage.stage`)? A Master.csv of
        at least :attr:`stage_min_bytes` into SQLite or PostgreSQL, column-wise."""
        if kind != "cdr" or not self.columnar or self.stage_min_bytes is None \
                or self.store.dialect not in ("sqlite", "postgresql"):
            return False
        try:
            return path.stat().st_size >= self.stage_min_bytes
        except OSError:
            return False

    def _ingest_staged(self, path: Path, kind: str, zone: str, report: FileReport, rejects: RejectsFile) -> None:
        """:meth:`ingest` with a helper process (:func:`_stage_blocks`) that reads, prepares and
        stages each block while this one copies the last into its own database."""
        identity = identify(kind, path, zone)
        sqlite = self.store.dialect == "sqlite"
        with fewer_collections(), self.store.bulk_begin(alone=self.alone, cache_kib=STAGED_CACHE_KIB) as conn:
            file_id = self.store.journal_file(conn, self.pipeline.pbx, identity)
            # PostgreSQL's helper makes the journal's rows whole: it is given their file and name
            journal = None if sqlite else (file_id, identity.name)
            expected_rows = path.stat().st_size // ROW_BYTES
            indexes = self.store.load_first(conn, expected_rows, alone=self.alone)
            # the obligations wait for the end: on PostgreSQL, when the import has the database alone
            defer = sqlite or bool(indexes)
            # a linkedid has rows elsewhere only if an earlier block had it: when the journal holds
            # nothing of the PBX and nobody else writes it (SQLite has one writer; PostgreSQL: alone),
            # the helper names the linkedids an earlier block may have had (Recurring)
            alone = defer and self.store.journal_empty_until_commit(conn, self.pipeline.pbx)
            with _Helper(path, zone, self.pipeline, BLOCK_BYTES, journal, expected_rows if alone else None) as helper, \
                    _deferring(self.pipeline.obligations, conn, defer), \
                    ThreadPoolExecutor(1, thread_name_prefix="callmon-assemble") as assembler:
                self._load_staged(conn, helper, assembler, path, kind, file_id, report, rejects, indexes)
                if defer:  # the index of numbers first; the others after (PostgreSQL: the calls' updates)
                    self.store.index_after(conn, indexes, LOAD_FIRST_INDEXES)
                    self.pipeline.obligations.settle(conn)
            self.store.index_after(conn, indexes)

    def _load_staged(self, conn: Connection, helper: _Helper, assembler: ThreadPoolExecutor, path: Path, kind: str,
                     file_id: int, report: FileReport, rejects: RejectsFile, indexes) -> None:
        """The blocks of :meth:`_ingest_staged` copied in as they come (the journal's columns
        that are the file's, not the row's, given here), with the indexes of ``indexes``
        (:meth:`~callmon.storage.Store.load_first`) away meanwhile."""
        previous: set[str] = set()
        journal = {"pbx": self.pipeline.pbx, "kind": kind, "source": str(path)[:255], "file_id": file_id}
        for n, block in enumerate(helper, 1):
            if n & (n - 1) == 0 and n > 1:  # blocks 2, 4, 8, ...: as the tables double (PostgreSQL)
                self.store.refresh_statistics(conn)
            rejects.write(block.rejects)
            report.rows += block.rows
            if block.encoding != "utf-8":
                report.encoding = block.encoding
            if self.store.dialect == "sqlite":
                staged = stage.Attached(conn, block.stage_file, JOURNAL_STAGED, {**journal, "ingested_at": time.time()})
            else:
                staged = pgstage.Block(conn, block.stage_file, self.store)
            new = staged.copy_journal()
            report.new_rows += new
            if new:
                derived = self._derive_staged(conn, block, staged, assembler, fresh=new == block.entries)
                previous = _count_calls(report, derived, previous)
                # while the helper reads the next block: the rollups of the hours this file has left behind
                self.store.roll_up_loaded(conn, indexes)
            if self.progress:
                self.progress(block.nbytes)

    def _derive_staged(self, conn: Connection, block: StagedBlock, staged: stage.Attached | pgstage.Block,
                       assembler: ThreadPoolExecutor, *, fresh: bool) -> list[tuple[str, bool]]:
        """:meth:`_derive_block` of a staged block: its single-record calls are copied from the
        stage, less those with inputs elsewhere, which are derived from all their inputs. Its
        other calls are assembled and scored here: the helper has more to do than this process
        once the database is taken alone (measured, 1M rows: 66-68 s against 74-78 s with the
        helper scoring them and sending the scored calls)."""
        elsewhere = staged.spread(self.pipeline.pbx, block.recurring)
        prepared, in_hand = block.prepared, list(map(CdrRow._make, block.rest))
        if elsewhere:
            staged.skip(elsewhere & set(prepared.call_ids))
            prepared = prepared.without(elsewhere)
            in_hand = [r for r in in_hand if (r.linkedid or r.uniqueid) not in elsewhere]
        # the other calls are assembled and scored by a thread of this process while the staged
        # rows are copied: the copy runs in SQLite or waits for PostgreSQL without holding the
        # interpreter. What the staged calls teach of the endpoints is learnt first, as before
        self.pipeline.learn_prepared(prepared)
        assembling = assembler.submit(self._assemble, in_hand)
        try:
            self.pipeline.store_records(conn, prepared, fresh=fresh, staged=staged, endpoints=False)
        finally:
            scored = assembling.result()
        derived = [(call_id, False) for call_id in prepared.call_ids]
        return derived + self._store_rest(conn, scored, elsewhere, fresh)


@contextmanager
def _deferring(obligations, conn: Connection, defer: bool = True) -> Iterator[None]:
    """The callback obligations of the writes on ``conn`` wait for
    :meth:`~callmon.service.obligations.Obligations.settle` (forgotten if the import fails);
    ``defer=False``: they do not wait."""
    if not defer:
        yield
        return
    obligations.defer(conn)
    try:
        yield
    finally:
        obligations.abandon()


def _unique_entries(rows: list, raw: list[str], entry: Callable) -> tuple[list, list[JournalRow]]:
    """``(rows, journal entries)`` of a block (``raw``: each row's line), a row twice in the
    block kept once (by its key)."""
    unique: dict[str, tuple] = {}
    for row, line in zip(rows, raw):
        e = entry(row, line)
        unique.setdefault(e.event_key, (row, e))
    return [p[0] for p in unique.values()], [p[1] for p in unique.values()]


def _count_calls(report: FileReport, derived: list[tuple[str, bool]], previous: set[str]) -> set[str]:
    """Add a block's derived ``(call_id, incomplete)`` to the report, a call cut by the boundary
    with the previous block counted once; return this block's call ids."""
    ids = {call_id for call_id, _ in derived}
    report.calls += len(ids - previous)
    report.incomplete_calls += sum(cut for call_id, cut in derived if call_id not in previous)
    return ids


@dataclass
class StagedBlock:
    """What the helper process sends for one block: the stage database's file (journal rows and
    the single-record calls' rows; :func:`~callmon.storage.stage.take` reads and removes it) and
    what storing them needs, the other records as rows."""

    stage_file: str  # in the import's directory of stage files (_Helper), not sent through the pipe
    prepared: PreparedRecords  # without its rows (they are in the stage file)
    rest: list[tuple]  # the CdrRow of the calls of more than one record (and Local channels), as
    # plain tuples: a named tuple costs its class's constructor each when unpickled (7 times longer)
    entries: int  # journal rows in the image
    recurring: list[str] | None  # its linkedids an earlier block of the file may have had (Recurring); None: any
    rows: int  # sound rows of the block (before removing a row twice in the block)
    rejects: list
    encoding: str
    nbytes: int


class _Helper:
    """The helper process of a staged import, as an iterator of :class:`StagedBlock`.

    It is started with ``spawn`` (a fresh interpreter: nothing of this process's threads or
    database connections comes along) and given the merged configuration. A thread of this
    process receives its blocks as they come, up to :data:`READ_AHEAD` ahead of the one being
    written: with one block in the pipe, each process waited for the other on every block whose
    cost differed (1M rows: the importing process waited 7-11 s, the helper about as long), and
    the helper stopped when the importing one fell behind instead of reading on. Its failure is
    raised here (an unreadable file as :class:`~callmon.core.errors.InputError`); leaving the
    ``with`` early stops it.

    The stage databases come as files in a directory of this import's (in memory where
    ``/dev/shm`` is), the pipe carries only their names: sent through it, a million rows' stages
    (about 600 MB) were copied four times over (pickled, written, read, unpickled). Whatever is
    left of them when the import ends, read or not, goes with the directory (after a kill, with
    the next import's: :func:`~callmon.storage.stage.import_directory`).
    """

    def __init__(self, path: Path, zone: str, pipeline: Pipeline, block_bytes: int,
                 journal: tuple[int, str] | None = None, recurring: int | None = None):
        ctx = multiprocessing.get_context("spawn")
        self.directory = stage.import_directory()
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_stage_blocks, name="callmon-stage", daemon=True,
                                 args=(child, str(path), zone, pipeline.config, pipeline.pbx, block_bytes,
                                       pipeline.parties.known, self.directory, journal, recurring))
        self._proc.start()
        child.close()
        self._queue: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._receive, name="callmon-stage-reader", daemon=True)
        self._reader.start()

    def _receive(self) -> None:
        """The reader thread: each message of the helper into the queue, until its last."""
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = ("gone",)
            while not self._stop.is_set():
                try:
                    self._queue.put(message, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if message[0] != "block" or self._stop.is_set():
                return

    def __enter__(self) -> "_Helper":
        return self

    def __iter__(self) -> Iterator[StagedBlock]:
        while True:
            message = self._queue.get()
            if message[0] == "block":
                yield message[1]
            elif message[0] == "end":
                return
            elif message[0] == "gone":
                self._proc.join(timeout=5)
                raise RuntimeError(f"the import helper process ended unexpectedly "
                                   f"(exit code {self._proc.exitcode})")
            else:
                _, name, text = message
                raise InputError(text) if name == "InputError" else RuntimeError(f"import helper: {text}")

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._proc.is_alive() and exc[0] is not None:
            self._proc.terminate()
        self._proc.join(timeout=30)
        self._reader.join(timeout=5)
        self._conn.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _stage_blocks(out, path: str, zone: str, config, pbx: str, block_bytes: int, known, directory: str,
                  journal: tuple[int, str] | None = None, recurring: int | None = None) -> None:
    """The helper process: read the file (a Master.csv, as columns), prepare each block and bind
    its rows into a stage database (:class:`~callmon.storage.stage.StageBuilder`; of the journal,
    :data:`JOURNAL_STAGED`) in a file in ``directory``, send its name; then ``("end",)``.

    ``journal``: ``(file id, source)`` of the journal's rows: the block is made for PostgreSQL
    instead (:class:`~callmon.storage.pgstage.Builder`: the journal's rows whole, as CSV).
    ``recurring``: the rows expected; each block names the linkedids an earlier one may have had
    (:class:`Recurring`; None: not tracked, the block's ``recurring`` is None)."""
    try:
        preparer = Preparer.from_config(config, pbx)  # the config's directory is the merged one
        parties = Parties(config, known)  # what the importing process knows
        batches = read_cdr_batches(path, config, zone=zone, block_bytes=block_bytes, check_zone=False, as_columns=True)
        seen = Recurring(recurring) if recurring is not None else None
        with fewer_collections():
            for batch in batches:
                columns, keys, raw = unique_cdr_columns(batch.columns, batch.raw)
                records, rest = split_single_columns(columns, config, pbx, parties)
                if journal is None:
                    builder = stage.StageBuilder(directory)
                    rows = dict(zip(JOURNAL_COLUMNS, cdr_journal_columns(pbx, path, columns, keys, raw, None)))
                    builder.add_columns("journal", JOURNAL_STAGED, [rows[c] for c in JOURNAL_STAGED])
                    linkedids = rows["linkedid"]
                else:
                    builder = pgstage.Builder(directory)
                    file_id, source = journal
                    rows = cdr_journal_columns(pbx, source, columns, keys, raw, file_id)
                    linkedids = rows[JOURNAL_COLUMNS.index("linkedid")]
                    builder.add_journal(pgcopy.csv_block(rows), Counter(filter(None, linkedids)))
                prepared = preparer.stage_records(preparer.prepare_records(records), builder)
                earlier = seen.block(linkedids) if seen is not None else None
                out.send(("block", StagedBlock(builder.file(), prepared, rest, len(keys), earlier, batch.count,
                                               batch.rejects, batch.encoding, batch.nbytes)))
        out.send(("end",))
    except Exception as exc:  # noqa: BLE001 - everything goes back to the importing process
        out.send(("error", type(exc).__name__, str(exc) if isinstance(exc, InputError) else traceback.format_exc()))
    finally:
        out.close()
