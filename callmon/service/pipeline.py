"""One pipeline, many drivers: ``ingest`` of a capture, the live listener and ``rebuild`` all
journal raw input, assemble calls with the tracker, score them and write them through the store.

>>> from callmon.core.config import Config
>>> from callmon.storage import Store
>>> p = Pipeline(Store("sqlite://"), Config())
>>> report = p.ingest_ami_file("sample_cdr/a_direct_fast_caller_hangs_up/ami.raw")
>>> report.new_events, report.calls
(81, 1)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from callmon.storage import Connection

from callmon.sources.ami.framing import AmiEvent, FrameStats, read_capture
from callmon.calls.tracker import IGNORED
from callmon.core.config import Config, Employee
from callmon.service.reconcile import REBUILD_BATCH, calls_of_linkedids, rebuild_calls
from callmon.calls.columnar import SingleRecords, _num
from callmon.calls.parties import Parties, settle_line
from callmon.metrics.callbacks import is_miss, miss_of
from callmon.metrics.rules import RuleSet
from callmon.core.model import Call, Score
from callmon.service.obligations import Obligations, earliest, callback_moment
from callmon.metrics.scoring import ScoredCall, Scorer, customer_numbers
from callmon.storage.schema import agent_results as agent_results_table
from callmon.storage.schema import calls as calls_table
from callmon.storage import pgstage, stage
from callmon.storage.schema import legs as legs_table
from callmon.storage.jsontext import json_lists_of_one
from callmon.storage.store import LEG_COLUMNS, JournalRow, Store, agent_result_row, call_row

log = logging.getLogger(__name__)



@dataclass
class IngestReport:
    """What one ingest did, for the summary line and the tests."""

    source: str
    kind: str
    events: int = 0
    new_events: int = 0
    calls: int = 0
    incomplete_calls: int = 0
    without_timestamp: int = 0
    stats: FrameStats | None = None
    problems: list[str] = field(default_factory=list)


def journal_row(event: AmiEvent) -> JournalRow:
    """An AMI event as the journal keeps it: its frame text (:attr:`AmiEvent.text`) under its
    dedupe key (:attr:`AmiEvent.key`), with the columns the derivations look rows up by."""
    key, ts, linkedid, uniqueid, text = event.journal_fields()
    return JournalRow("ami", key, ts, event.name, linkedid, uniqueid, text)


def merged_directory(config: Config, imported: dict[str, Employee]) -> dict[str, Employee]:
    """The config's ``[directory]`` with the imported directory over it: an imported extension
    wins, an extension only the config names is kept."""
    return {**config.directory, **imported}


class Pipeline:
    """Journal -> tracker -> rules -> store, for one PBX.

    The rule set, the directory (config merged with the imported one) and the scorer are built
    once here; after each write the callback obligations of the numbers it touched are derived
    again (:mod:`callmon.service.obligations`).
    """

    #: ``rebuild`` makes the calls of one Master.csv record as columns (False: one record object
    #: each, as the other calls; the tests compare the two)
    columnar = True
    #: ... in a helper process when the journal holds at least this many Master.csv rows (and the
    #: database is a SQLite file): starting one costs about a second
    rebuild_helper_rows = 100_000

    def __init__(self, store: Store, config: Config, pbx: str | None = None):
        self.store = store
        self.pbx = pbx or config.pbx
        imported = store.load_directory(self.pbx)
        self.config = replace(config, directory=merged_directory(config, imported)) if imported else config
        self.ruleset = RuleSet.from_config(self.config)
        self.scorer = Scorer(self.ruleset, self.config.directory)
        self.preparer = Preparer(self.scorer, self.ruleset.region, self.pbx)
        self.obligations = Obligations(store, self.pbx, self.ruleset, self.config.directory)
        # staff or outside: what this PBX showed so far (calls/parties.py), learnt further by each call
        self.parties = Parties(self.config, store.load_endpoints(self.pbx))
        self._warned: set[str] = set()  # endpoints warned about (once each)
        self._unwarned: set[str] = set()  # endpoints learnt about since the last warn_weak()

    def score(self, call: Call) -> Score:
        return self.scorer(call).score

    def ingest_ami_file(self, path: str | Path) -> IngestReport:
        """Journal a recorded AMI stream and (re)derive the calls it touches; all or nothing."""
        events, stats = read_capture(path)
        report = IngestReport(source=str(path), kind="ami", events=len(events), stats=stats)
        report.problems.extend(stats.problems)
        report.without_timestamp = sum(1 for e in events if e.timestamp is None and e.name not in IGNORED)
        if report.without_timestamp:
            report.problems.append(
                f"{path}: {report.without_timestamp} call event(s) without a Timestamp header "
                "(manager.conf timestampevents = no?): their calls have no times"
            )
        with self.store.begin() as conn:
            report.new_events = self.store.journal(conn, self.pbx, str(path), [journal_row(e) for e in events])
            if report.new_events:
                linkedids = {e.call_linkedid or e.uniqueid for e in events if e.call_linkedid or e.uniqueid}
                calls = self.recompute(conn, linkedids)
                report.calls = len(calls)
                report.incomplete_calls = sum(c.incomplete for c in calls)
        return report

    def recompute(self, conn: Connection, linkedids: Iterable[str]) -> list[Call]:
        """Re-assemble, reconcile (:mod:`callmon.service.reconcile`) and re-score every call touching these
        linkedids from everything the journal holds of them: AMI events and file rows."""
        calls = calls_of_linkedids(self.store, conn, self.pbx, self.config, linkedids, parties=self.parties)
        self.write(conn, calls)
        return calls

    def write(self, conn: Connection, calls: Sequence[Call], *, fresh: bool = False) -> None:
        """Score and store calls (replacing earlier versions), then bring the callback
        obligations of the numbers they touch up to date, in the caller's transaction.
        ``fresh``: none of these calls is stored yet (no earlier versions to look up)."""
        self.write_scored(conn, [self.scorer(c) for c in calls], fresh=fresh)

    def write_scored(self, conn: Connection, scored: Sequence[ScoredCall], *, fresh: bool = False) -> None:
        """:meth:`write` of calls already scored (:attr:`scorer`)."""
        if fresh:
            ids, touched = self.obligations.open_single_calls(
                conn, [s.call.call_id for s in scored], [s.customer_number for s in scored],
                [callback_moment(s.call) for s in scored], [_missed(s.call) for s in scored], [s.call.called for s in scored])
            scored = [replace(s, score=replace(s.score, callback_id=i)) if i is not None else s
                      for s, i in zip(scored, ids)]
        else:
            touched = self.obligations.touched(conn, scored)
        self.store.replace_calls(conn, self.pbx, scored, replace=not fresh)
        self.obligations.refresh(conn, touched)
        self.save_endpoints(conn)

    def save_endpoints(self, conn: Connection) -> None:
        """Store what the calls taught about the PBX's endpoints since the last save."""
        dirty = self.parties.take_dirty()
        if dirty:
            self.store.save_endpoints(conn, self.pbx, {e: self.parties.known[e] for e in dirty})
            self._unwarned |= dirty

    def warn_weak(self, *, logged: bool = True) -> list[str]:
        """Warn once per endpoint whose class rests on weak evidence, with the line of
        configuration that would settle it (the endpoints seen since the last call): the lines,
        also logged unless ``logged`` is False (the command line prints them itself)."""
        lines = []
        for name in sorted(self._unwarned - self._warned):
            e = self.parties.classify(name)
            if not e.strong:
                self._warned.add(name)
                lines.append(f"PBX {self.pbx}: endpoint {name!r} is taken for "
                             f"{'a staff phone' if e.kind == 'staff' else 'the outside world'} on weak evidence "
                             f"({e.evidence}); to settle it, configure {settle_line(e)}")
                if logged:
                    log.warning("%s", lines[-1])
        self._unwarned = set()
        return lines

    def write_records(self, conn: Connection, records: SingleRecords, *, fresh: bool = False) -> None:
        """:meth:`write` for calls of one Master.csv record each, without a record object per call:
        :meth:`Preparer.prepare_records` then :meth:`store_records`."""
        self.store_records(conn, self.preparer.prepare_records(records), fresh=fresh)

    def store_records(self, conn: Connection, prepared: PreparedRecords, *, fresh: bool = False,
                      staged: stage.Attached | pgstage.Block | None = None, endpoints: bool = True) -> None:
        """Store what :meth:`Preparer.prepare_records` made, replacing earlier versions of the calls, and
        bring the callback obligations of their numbers up to date.

        ``fresh``: none of these calls is stored yet (their every input is new), so there are no
        earlier versions to look up and replace, and the callback obligations of numbers with no
        other call are opened at once (:meth:`~callmon.service.obligations.Obligations.open_single_calls`).
        ``staged``: the rows are not in ``prepared`` but in a staged block (:class:`~callmon.storage.stage.Attached`
        on SQLite, :class:`~callmon.storage.pgstage.Block` on PostgreSQL), copied from there.
        ``endpoints=False``: what the calls teach of the endpoints is left to the caller
        (:meth:`learn_prepared` before, :meth:`save_endpoints` after): this touches no
        :attr:`parties`, and another thread may build calls meanwhile."""
        p, pbx = prepared, self.pbx
        if not p.call_ids:
            return
        if endpoints:
            self._learn_prepared(p, True)
        if fresh:
            ids, touched = self.obligations.open_single_calls(conn, p.call_ids, p.numbers, p.callback_moments, p.missed, p.called)
            if staged is not None:
                staged.set_callback_ids([(i, c) for i, c in zip(ids, p.call_ids) if i is not None])
            else:
                p.own[p.own_cols.index("callback_id")] = ids
        else:
            stored = self.store.calls_by_id(conn, pbx, p.call_ids)  # earlier versions of these calls
            touched = earliest([*zip(p.numbers, p.callback_moments), *((n, callback_moment(c)) for n, c in stored)])
            if stored:
                self.store.delete_calls(conn, pbx, [call.call_id for _, call in stored])
        if staged is not None:
            staged.copy_calls(p.own_cols, p.shape_cols, p.agent_cols)
        else:
            self._insert_prepared(conn, p)
        self.obligations.refresh(conn, touched)
        if endpoints:
            self.save_endpoints(conn)

    def learn_prepared(self, prepared: PreparedRecords) -> None:
        """Learn what these calls show of the endpoints (:meth:`store_records` does, unless told not to)."""
        if prepared.call_ids:
            self._learn_prepared(prepared, True)

    def _insert_prepared(self, conn: Connection, p: PreparedRecords) -> None:
        self.store.insert_tuples(conn, calls_table, [*p.own_cols, *p.shape_cols],
                                 [(*row[:-1], *p.shapes[row[-1]]) for row in zip(*p.own)])
        self.store.insert_tuples(conn, legs_table, LEG_COLUMNS, [r for r in p.legs if r is not None])
        self.store.insert_tuples(conn, agent_results_table, p.agent_cols, [r for rows in p.agents for r in rows])

    def rebuild(self, progress: Callable[[str, int, int], None] | None = None, *, batch: int = REBUILD_BATCH) -> int:
        """Drop this PBX's derived calls and derive them, and every callback obligation, again
        from the whole journal (an obligation keeps its callback_id while its key stays).

        ``progress(step, done, total)`` after each batch: step ``calls`` counts the calls derived
        against those stored before (a rule or journal change may make it another number),
        step ``callbacks`` the numbers whose obligations are derived.

        A rebuild is a large write that owns the database, and takes the import's ways
        (:mod:`callmon.service.ingest`): one bulk transaction (:meth:`~callmon.storage.Store.bulk_begin`),
        load first and index after (:meth:`~callmon.storage.Store.load_first`), the calls of one
        Master.csv record made in a helper process on a large SQLite journal
        (:mod:`callmon.service.restage`), the obligations of every number at the end."""
        from callmon.service.ingest import STAGED_CACHE_KIB, fewer_collections  # (they build on this module)
        from callmon.service.restage import StagedCalls

        n = 0
        learn = not self.parties.known
        with fewer_collections(), self.store.bulk_begin(cache_kib=STAGED_CACHE_KIB) as conn:
            before = self.store.count_calls(conn, self.pbx)
            self.store.delete_calls(conn, self.pbx)
            # a rebuild is a large write: load first, index after (Store.load_first)
            indexes = self.store.load_first(conn, before, journal=False)
            for calls in rebuild_calls(self.store, conn, self.pbx, self.config, batch=batch, parties=self.parties,
                                       learn=learn, columnar=self.columnar, helper=self._rebuild_helper(conn)):
                if isinstance(calls, SingleRecords):  # calls of one Master.csv record each, as columns
                    prepared = self.preparer.prepare_records(calls)
                    self._learn_prepared(prepared, learn)
                    self._insert_prepared(conn, prepared)  # their obligations: refresh_all below
                    n += calls.n
                elif isinstance(calls, StagedCalls):  # the same, made by the helper process
                    self._learn_prepared(calls.prepared, learn)
                    p = calls.prepared
                    stage.Attached(conn, calls.stage_file).copy_calls(p.own_cols, p.shape_cols, p.agent_cols)
                    n += calls.n
                else:
                    self.store.replace_calls(conn, self.pbx, [self.scorer(c) for c in calls])
                    n += len(calls)
                if progress:
                    progress("calls", n, max(before, n))
            self.save_endpoints(conn)
            self.store.index_after(conn, indexes)
            self.obligations.refresh_all(
                conn, progress=(lambda done, total: progress("callbacks", done, total)) if progress else None)
        return n

    def _learn_prepared(self, prepared: PreparedRecords, learn: bool) -> None:
        if learn:
            for sightings, count, first, last in prepared.sightings:
                self.parties.learn(sightings, first, calls=count, last=last)

    def _rebuild_helper(self, conn: Connection) -> Callable | None:
        """How ``rebuild`` makes the calls of one Master.csv record: in a helper process
        (:mod:`callmon.service.restage`) when the database is a SQLite file and the journal
        holds at least :attr:`rebuild_helper_rows` Master.csv rows; None: in this one."""
        if not self.columnar or not self.store.is_sqlite_file:
            return None
        if self.store.count_journal_upto(conn, self.pbx, "cdr", self.rebuild_helper_rows) < self.rebuild_helper_rows:
            return None
        from callmon.service.restage import RebuildHelper  # (it builds on this module)

        return lambda ami_ids: RebuildHelper(self.config, self.pbx, self.parties.known, ami_ids)


class Preparer:
    """Scores calls of one Master.csv record each and makes their rows, without any database: a
    plain object the writer (:class:`Pipeline`) is handed, and the import helper process builds on
    its own (:meth:`from_config`)."""

    def __init__(self, scorer: Scorer, region: str, pbx: str):
        self.scorer = scorer
        self.region = region
        self.pbx = pbx

    @classmethod
    def from_config(cls, config: Config, pbx: str | None = None) -> Preparer:
        """From a configuration whose directory is already the merged one (:attr:`Pipeline.config`)."""
        ruleset = RuleSet.from_config(config)
        return cls(Scorer(ruleset, config.directory), ruleset.region, pbx or config.pbx)

    def prepare_records(self, records: SingleRecords) -> PreparedRecords:
        """The rows of calls of one Master.csv record each, made without the database.

        The rules are applied once per *shape* (:meth:`SingleRecords.shapes`: everything the rules
        read but who and when), to that shape's first call, and its verdicts are given to every
        call of the shape; the rows are then filled with each call's own ids, number and times.
        A bulk import meets a few thousand shapes in a million calls. The rows are the ones
        :meth:`write` stores for the same calls (tested)."""
        n = records.n
        if not n:
            return PreparedRecords([], [], [], [], [], [], [], [], [], [], [], [])
        shapes = records.shapes()
        first: dict[tuple, int] = {}
        for i, shape in enumerate(shapes):
            first.setdefault(shape, i)
        scored = {shape: self.scorer(records.call(i)) for shape, i in first.items()}
        templates = {shape: call_row(s.call, s.score, None) for shape, s in scored.items()}
        region, pbx = self.region, self.pbx
        call_ids = [records.call_id(i) for i in range(n)]
        numbers = customer_numbers(records.direction, records.src, records.called, region)
        per_call = {  # the fields that are the call's own, not its shape's
            "customer_number": numbers, "call_id": call_ids, "caller": records.src, "called": records.called,
            "queue": [q or None for q in records.queue], "arrived_at": records.start,
            "first_ring_at": [_num(v) for v in records.first_ring], "answered_at": [_num(v) for v in records.answered_at],
            "ended_at": records.end, "hangup_channel": [p[3] for p in records.parties],
            "uniqueids": json_lists_of_one(records.uniqueid),
            "callback_id": [None] * n,  # given when stored
        }
        shape_cols = [c for c in next(iter(templates.values())) if c not in per_call]
        sid = {shape: k for k, shape in enumerate(templates)}
        shape_rows = [tuple(t[c] for c in shape_cols) for t in templates.values()]
        own = [*per_call.values(), [sid[shape] for shape in shapes]]
        verdicts = {shape: [agent_result_row(s, r) for r in s.agent_results] for shape, s in scored.items()}
        agent_cols = next((list(v[0]) for v in verdicts.values() if v), [])
        agent_rows: list[tuple[tuple, ...]] = [()] * n
        if agent_cols:  # a shape's verdict rows, with each call's own id and time
            k_id, k_at = agent_cols.index("call_id"), agent_cols.index("at")
            verdicts = {shape: [list(r.values()) for r in v] for shape, v in verdicts.items()}
            agent_rows = []
            for i, shape in enumerate(shapes):
                mine = []
                for template in verdicts[shape]:
                    row = template.copy()
                    row[k_id], row[k_at] = call_ids[i], records.start[i]
                    mine.append(tuple(row))
                agent_rows.append(tuple(mine))
        missed = [miss_of(d, p[0], c) for d, p, c in zip(records.direction, records.parties, records.src)]
        return PreparedRecords(
            shape_cols, shape_rows, list(per_call), own, records.leg_rows(pbx, call_ids), agent_cols, agent_rows,
            call_ids, numbers, _callback_moments(records), missed, records.called, records.sightings(),
            records.sighting_codes(), list(records.start),
        )

    def stage_records(self, prepared: PreparedRecords, builder: stage.StageBuilder) -> PreparedRecords:
        """Put the rows of ``prepared`` into a stage database; return it without them (what
        :meth:`store_records` still needs, light to send to the importing process)."""
        p = prepared
        if p.call_ids:
            builder.add("call_shapes", ("sid", *p.shape_cols), [(k, *values) for k, values in enumerate(p.shapes)])
            builder.add_columns("calls", (*p.own_cols, "sid"), p.own)
            builder.add("legs", LEG_COLUMNS, [r for r in p.legs if r is not None])
            if p.agent_cols:
                builder.add("agent_results", p.agent_cols, [r for rows in p.agents for r in rows])
        return replace(p, shapes=[], own=[], legs=[], agents=[])

@dataclass
class PreparedRecords:
    """Rows of calls of one Master.csv record each, per call (:meth:`Preparer.prepare_records`),
    and what storing them needs to know of each call (:meth:`Pipeline.store_records`)."""

    shape_cols: list[str]  # the calls columns a shape gives (the rules' verdicts, durations)
    shapes: list[tuple]  # their values, per shape
    own_cols: list[str]  # the calls columns that are each call's own (callback_id: given when stored)
    own: list[list]  # per column of ``own_cols``, each call's value; then each call's shape's index in ``shapes``
    legs: list[tuple | None]  # the legs row of each call (LEG_COLUMNS), None: no party B
    agent_cols: list[str]
    agents: list[tuple[tuple, ...]]  # the agent_results rows of each call
    call_ids: list[str]
    numbers: list[str | None]
    callback_moments: list[float]  # callback_moment() of each call
    missed: list[bool]
    called: list[str]
    sightings: list = field(default_factory=list)  # SingleRecords.sightings(): what to learn of the endpoints
    sighting_of: list[int] = field(default_factory=list)  # each call's index in ``sightings``
    starts: list[float] = field(default_factory=list)  # each call's start (the sightings' first and last)

    def without(self, call_ids: set[str]) -> PreparedRecords:
        """The same without the calls of these ids (an import learns only when it stores a block
        that some of its calls have inputs elsewhere): their sightings are not counted either
        (those calls are derived again from all their inputs, and learnt then)."""
        keep = [i for i, c in enumerate(self.call_ids) if c not in call_ids]
        if len(keep) == len(self.call_ids):
            return self
        pick = lambda values: [values[i] for i in keep] if values else values  # noqa: E731
        return replace(self, own=[pick(column) for column in self.own], legs=pick(self.legs), agents=pick(self.agents),
                       call_ids=pick(self.call_ids), numbers=pick(self.numbers), callback_moments=pick(self.callback_moments),
                       missed=pick(self.missed), called=pick(self.called), sightings=self._sightings_of(keep),
                       sighting_of=pick(self.sighting_of), starts=pick(self.starts))

    def _sightings_of(self, keep: list[int]) -> list:
        """:attr:`sightings` counted over the calls ``keep`` only (same order, none left empty)."""
        spans: dict[int, list] = {}
        for i in keep:
            code, t = self.sighting_of[i], self.starts[i]
            span = spans.get(code)
            if span is None:
                spans[code] = [1, t, t]
            else:
                span[0] += 1
                span[1], span[2] = min(span[1], t), max(span[2], t)
        return [(self.sightings[code][0], n, first, last) for code, (n, first, last) in sorted(spans.items())]


def _missed(call: Call) -> bool:
    """Does the call open a callback obligation of its own: a complete inbound call from
    outside that nobody answered (:func:`~callmon.metrics.callbacks.derive_callbacks`)?"""
    return is_miss(call) and not call.incomplete


def _callback_moments(records: SingleRecords) -> list[float]:
    """:func:`~callmon.service.obligations.callback_moment` of every record's call, over the columns: an
    unanswered inbound call at its arrival, any other at its answer, else its end."""
    inbound = np.array([d == "inbound" for d in records.direction], bool)
    unanswered = np.isnan(records.t_answered)
    return np.where(inbound & unanswered, records.t_start,
                    np.where(unanswered, records.t_end, records.t_answered)).tolist()
