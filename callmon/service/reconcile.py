"""The journal -> call records, whatever the input was: AMI events and rows of Master.csv, CEL and
queue_log are journaled per call (``linkedid``); here the rows of some calls are read back, the
AMI events go through the tracker, the file rows through the importers' assembler, and the two
records of one call are reconciled into one:

- a COMPLETE AMI record stands (it saw every event live); the files only add their names to
  ``sources``;
- an AMI record that is ``incomplete`` (the listener lost its connection) or absent gives way to
  the record from the files, which takes from the AMI record what the files did not know;
- the two are the same call when they share the call id or any channel uniqueid, so a call is
  never stored twice.

Nothing here writes: :class:`~callmon.service.pipeline.Pipeline` scores and stores what comes out.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from contextlib import nullcontext
from dataclasses import fields, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from callmon.storage import Connection

from callmon.sources.ami.framing import AmiEvent
from callmon.calls.tracker import IGNORED, track_events
from callmon.core.config import Config
from callmon.calls import FileCalls
from callmon.calls.columnar import SingleRecords, single_mask
from callmon.calls.grouper import Grouper
from callmon.calls.parties import Parties
from callmon.sources.files import CdrRow
from callmon.sources.files.reread import FileIdentity, reread
from callmon.core.errors import StoreError
from callmon.core.model import Call
from callmon.storage.store import JournalEntry, Store

log = logging.getLogger(__name__)

FILE_KINDS = ("cdr", "cel", "queue_log")
SOURCE_ORDER = ("ami",) + FILE_KINDS
# noise the tracker ignores anyway: not worth reading back from the journal
NOISE = tuple(sorted(IGNORED - {"Newexten"}))
# the Call fields a record from files may lack and an AMI record of the same call may know
_FILLABLE = tuple(f.name for f in fields(Call) if f.name not in ("pbx", "call_id", "legs", "uniqueids", "sources",
                                                                  "incomplete", "transferred"))
REBUILD_HORIZON = 6 * 3600.0  # s: no call lasts longer; file calls older than this are emitted
REBUILD_BATCH = 20_000  # journal rows a rebuild reads again at once


def event_from_payload(payload: str) -> AmiEvent:
    """An AMI event again from its journal payload, the frame text (:attr:`AmiEvent.text`)."""
    return AmiEvent.from_text(payload)


def read_back(store: Store, conn: Connection, entries: Sequence[JournalEntry]) -> list[tuple[str, Any]]:
    """``(kind, entry)`` of journal entries, in their order: an :class:`AmiEvent` for an AMI
    event, the row of a file row, read again from its line by the readers of its file
    (:func:`~callmon.sources.files.reread.reread`), the lines of one file at once."""
    files = store.journal_files(conn, {e.file_id for e in entries if e.kind != "ami" and e.file_id is not None})
    rows = rows_of_lines(entries, files)
    return [("ami", event_from_payload(e.payload)) if e.kind == "ami" else (e.kind, row) for e, row in zip(entries, rows)]


def rows_of_lines(entries: Sequence[JournalEntry], files: Mapping[int, FileIdentity]) -> list[Any]:
    """The row of each file row of ``entries`` (None for an AMI event), in their order, read again
    from its line by the readers of its file (``files``: the identities of their ``file_id``),
    the lines of one file at once."""
    out: list[Any] = [None] * len(entries)
    per_file: dict[int | None, list[int]] = {}
    for i, e in enumerate(entries):
        if e.kind != "ami":
            per_file.setdefault(e.file_id, []).append(i)
    for file_id, at in per_file.items():
        f = files.get(file_id) if file_id is not None else None
        if f is None:
            raise StoreError(f"journal rows of kind {entries[at[0]].kind} name no file (file_id {file_id}): "
                             "the journal needs its migrations (callmon migrates on open)")
        rows = reread(f.kind, f.layout, f.zone, f.name, [entries[i].line for i in at], [entries[i].payload for i in at])
        for i, row in zip(at, rows):
            out[i] = row
    return out


def merge_sources(*groups: Sequence[str]) -> tuple[str, ...]:
    seen = {s for g in groups for s in g}
    return tuple(s for s in SOURCE_ORDER if s in seen) + tuple(sorted(seen - set(SOURCE_ORDER)))


def reconcile_pair(ami: Call, files: Call) -> Call:
    """One record of a call both the AMI stream and the files describe (see the module docstring)."""
    if not ami.incomplete:
        return replace(ami, sources=merge_sources(ami.sources, files.sources))
    filled = {n: getattr(ami, n) for n in _FILLABLE if getattr(files, n) is None and getattr(ami, n) is not None}
    uniqueids = tuple(dict.fromkeys(files.uniqueids + ami.uniqueids))
    return replace(files, call_id=ami.call_id, uniqueids=uniqueids,
                   sources=merge_sources(ami.sources, files.sources), **filled)


class Reconciler:
    """The AMI records of some calls, each paired with the first record from files of the same
    call (the same call id, else any shared channel Uniqueid; see the module docstring).

    AMI records that share a channel are one group of the grouper; a file record takes the
    first of them that has its Uniqueid, and each AMI record is paired once.
    """

    def __init__(self, ami_calls: Iterable[Call]):
        self._by_id: dict[str, Call] = {}
        self._by_uid: Grouper[Call] = Grouper()
        for a in ami_calls:
            self._by_id[a.call_id] = a
            self._by_uid.add(a.uniqueids, a)
        self._used: set[str] = set()

    def _ami_of(self, f: Call) -> Call | None:
        a = self._by_id.get(f.call_id)
        if a is not None:
            return a
        for u in f.uniqueids:
            g = self._by_uid.get(u)
            if g is not None:
                return next(m for m in g.members if u in m.uniqueids)
        return None

    def pair(self, file_calls: Iterable[Call]) -> list[Call]:
        """One record per call of ``file_calls``: reconciled with its AMI record if it has one."""
        out = []
        for f in file_calls:
            a = self._ami_of(f)
            if a is None or a.call_id in self._used:
                out.append(f)
            else:
                self._used.add(a.call_id)
                out.append(reconcile_pair(a, f))
        return out

    def unpaired(self) -> list[Call]:
        """The AMI records no file record has taken (so far)."""
        return [a for cid, a in self._by_id.items() if cid not in self._used]


def reconcile(ami_calls: Iterable[Call], file_calls: Iterable[Call]) -> list[Call]:
    """AMI records and records from files -> one record per call."""
    pairs = Reconciler(ami_calls)
    return pairs.pair(file_calls) + pairs.unpaired()


def _follow_ids(kind: str, entry: Any) -> Iterator[str]:
    """Ids in an entry (an :class:`AmiEvent`, a file row) that may name another linkedid's rows
    (transfers, queue callids)."""
    if kind == "ami":
        for k, v in entry.headers.items():
            if v and (k.endswith("Linkedid") or k.endswith("Uniqueid")):
                yield v
        return
    uid = getattr(entry, "uniqueid", None)
    if uid:
        yield uid
    if kind == "cel" and entry.eventtype in ("BLINDTRANSFER", "ATTENDEDTRANSFER") and entry.extra:
        try:
            extra = json.loads(entry.extra)
        except ValueError:
            return
        if isinstance(extra, dict):
            yield from (str(v) for k, v in extra.items() if k.endswith("uniqueid") and v)


def _read_entries(store: Store, conn: Connection, pbx: str, linkedids: Iterable[str]) -> list[tuple[str, Any]]:
    """``(kind, entry)``: an :class:`AmiEvent` for an AMI event, the row of a file row."""
    return read_back(store, conn, store.journal_entries(conn, pbx, SOURCE_ORDER, linkedids, exclude_names=NOISE))


def journal_entries(store: Store, conn: Connection, pbx: str, linkedids: Iterable[str]) -> list[tuple[str, Any]]:
    """Every journal entry (AMI events, file rows) of these calls, following transfer
    and queue ids once."""
    wanted = set(linkedids)
    entries = _read_entries(store, conn, pbx, wanted)
    more = {i for kind, p in entries for i in _follow_ids(kind, p)} - wanted
    if more:
        extra = _read_entries(store, conn, pbx, more)
        if extra:
            wanted |= more
            entries = _read_entries(store, conn, pbx, wanted)
    return entries


def calls_of_entries(entries: Iterable[tuple[str, Any]], config: Config, pbx: str,
                     parties: Parties | None = None) -> list[Call]:
    """Tracker over the AMI events, assembler over the file rows, then :func:`reconcile`
    (``parties``: what the PBX showed of its endpoints, learnt further by these calls)."""
    events: list[AmiEvent] = []
    parties = parties if parties is not None else Parties(config)
    assembler = FileCalls(config, pbx, parties=parties)
    rows = []
    for kind, payload in entries:
        if kind == "ami":
            events.append(payload)
        else:
            rows.append(payload)
    assembler.add(rows)
    file_calls = assembler.finish()  # files first: their evidence is learnt before AMI's re-read
    return reconcile(track_events(events, config, pbx, parties=parties) if events else (), file_calls)


def calls_of_linkedids(store: Store, conn: Connection, pbx: str, config: Config, linkedids: Iterable[str], *,
                 parties: Parties | None = None) -> list[Call]:
    """The records of every call touching these linkedids, from everything the journal holds."""
    return calls_of_entries(journal_entries(store, conn, pbx, linkedids), config, pbx, parties)


def split_single(rows: list, config, pbx: str, parties=None) -> tuple[SingleRecords, list]:
    """``(single-record calls as columns, the rows of every other call)`` (Local channels as
    party B go with the others)."""
    single, rest = single_records(rows)
    records = SingleRecords(single, config, pbx, parties)
    rest.extend(records.rest)
    return records, rest


def single_records(rows: list) -> tuple[list, list]:
    """``(records alone in their call, the others)``: :func:`~callmon.calls.columnar.single_mask`
    over the rows' columns (a record with a linkedid none of whose ids another record of the block
    names; not one whose party B is another record's party B too: an attended transfer's
    consultation, see :func:`~callmon.calls.file_calls.dstchannel_keys`)."""
    alone = single_mask([r.linkedid for r in rows], [r.uniqueid for r in rows], [r.dstchannel for r in rows])
    single, other = [], []
    for r, a in zip(rows, alone):
        (single if a else other).append(r)
    return single, other


def rebuild_calls(store: Store, conn: Connection, pbx: str, config: Config, *, batch: int = REBUILD_BATCH,
                  parties: Parties | None = None, learn: bool = True, columnar: bool = True,
                  helper: Callable[[set[str]], Any] | None = None) -> Iterator[Any]:
    """Every call of the journal, in batches: the AMI records are tracked whole (as before); the
    file rows are streamed in time order, ``batch`` at a time, read again a file's lines at once
    (:func:`read_back`), and their calls emitted once no row can join them.

    As an import does (:mod:`callmon.service.ingest`), a Master.csv record that is its call's
    only journal entry and alone in its batch (:func:`single_records`) makes its call as columns:
    those come out as :class:`~callmon.calls.columnar.SingleRecords` (``columnar=False``: through
    the assembler like every other row). ``parties``/``learn``: what is known of the endpoints,
    and whether these calls add to it. ``helper(ami_ids)``: a context manager giving a
    :class:`~callmon.service.restage.RebuildHelper`, which then makes those calls in another
    process: they come out as :class:`~callmon.service.restage.StagedCalls`."""
    parties = parties if parties is not None else Parties(config)
    events = (event_from_payload(e.payload) for part in store.journal_entries_ordered(conn, pbx, ("ami",), NOISE)
              for e in part)
    ami = track_events(events, config, pbx, parties=parties, learn=learn)
    ami_ids = {c.call_id for c in ami} | {u for c in ami for u in c.uniqueids}
    pairs = Reconciler(ami)
    assembler = FileCalls(config, pbx, parties=parties, learn=learn)
    newest = float("-inf")

    parts = store.journal_entries_ordered(conn, pbx, FILE_KINDS, block=batch)
    shared = store.journal_shared(conn, pbx) if columnar else {}  # (the journal stays as it is meanwhile)
    with (helper(ami_ids) if helper is not None and columnar else nullcontext()) as restage:
        for part, single, rows in (_staged(store, conn, parts, shared, restage) if restage is not None
                                   else _in_hand(store, conn, pbx, config, parts, parties, ami_ids, columnar, shared)):
            newest = max([newest, *(e.ts for e in part if e.ts is not None)])
            if single is not None and single.n:
                yield single
            assembler.add(rows)
            ready = assembler.pop_ready(newest - REBUILD_HORIZON)
            if ready:
                yield pairs.pair(ready)
    yield pairs.pair(assembler.finish()) + pairs.unpaired()


def _in_hand(store: Store, conn: Connection, pbx: str, config: Config, parts: Iterable[Sequence[JournalEntry]],
             parties: Parties, ami_ids: set[str], columnar: bool,
             shared: Mapping[str, int]) -> Iterator[tuple[Sequence[JournalEntry], Any, list]]:
    """``(batch, its single-record calls as columns or None, its other rows)``, made here."""
    for part in parts:
        rows = [row for _, row in read_back(store, conn, part)]
        records = None
        if columnar:
            records, rows = take_single(part, rows, spread(part, shared), ami_ids, config, pbx, parties)
        yield part, records, rows


def _staged(store: Store, conn: Connection, parts: Iterable[Sequence[JournalEntry]], shared: Mapping[str, int],
            restage) -> Iterator[tuple[Sequence[JournalEntry], Any, list]]:
    """``(batch, its single-record calls staged by the helper, its other rows)``
    (:mod:`callmon.service.restage`)."""
    sent: set[int] = set()

    def sending() -> Iterator[tuple[Sequence[JournalEntry], dict[int, FileIdentity], set[str]]]:
        for part in parts:
            ids = {e.file_id for e in part if e.file_id is not None} - sent
            sent.update(ids)
            yield part, store.journal_files(conn, ids) if ids else {}, spread(part, shared)

    for part, staged in restage.map(sending()):
        yield part, staged, staged.rest


def spread(part: Sequence[JournalEntry], shared: Mapping[str, int]) -> set[str]:
    """The linkedids of a batch's Master.csv records that have journal entries besides the
    batch's Master.csv records (CEL, queue_log or AMI entries, records of another batch);
    ``shared``: the journal's linkedids of more than one entry, and how many
    (:meth:`~callmon.storage.Store.journal_shared`)."""
    per_call = Counter(e.linkedid for e in part if e.linkedid and e.kind == "cdr")
    return {lid for lid, n in per_call.items() if shared.get(lid, 1) > n}


def take_single(part: Sequence[JournalEntry], rows: list, elsewhere: set[str], ami_ids: set[str], config: Config,
                pbx: str, parties: Parties) -> tuple[SingleRecords, list]:
    """``(calls of one Master.csv record, the other rows)`` of a batch of the journal (``rows``:
    its entries' rows): a record is taken if its linkedid is not ``elsewhere`` (see
    :func:`spread`), no AMI record names it (``ami_ids``), and :func:`split_single` takes it;
    the other rows keep their order."""
    candidates = [r for e, r in zip(part, rows) if type(r) is CdrRow and e.linkedid not in elsewhere
                  and r.linkedid not in ami_ids and r.uniqueid not in ami_ids]
    records, rest = split_single(candidates, config, pbx, parties)
    if not records.n:
        return records, rows
    taken = set(map(id, candidates)) - set(map(id, rest))
    return records, [r for r in rows if id(r) not in taken]
