"""Rows of Master.csv, CEL and queue_log (any of them) -> one call record per call.

Rows are grouped per call by Asterisk's ids: a CEL or CDR row joins its uniqueid to its linkedid,
a transfer's CEL event joins the channels it names, a queue_log line joins its callid (the
caller's uniqueid) and, on CONNECT, the member's uniqueid. Groups that share any id are one call,
as the AMI tracker merges them. CDR without ``linkedid`` (no ``newcdrcolumns``) groups by the
record's uniqueid and by the chain of channel names: a record whose party A is another record's
``dstchannel`` belongs to the same call.

Each source adds what it knows (see :mod:`callmon.calls.facts`); :mod:`callmon.calls.build`
turns the merged facts into a :class:`~callmon.core.model.Call`. Nothing here reads a file or a clock.

>>> from callmon.core.config import Config
>>> from callmon.sources.files import read_cdr, read_cel, read_queue_log
>>> d, cfg = "sample_cdr/d_queue_rna_then_answer/", Config(timezone="UTC")
>>> [call] = calls_from_files(read_cdr(d + "Master.csv", cfg), read_cel(d + "cel.csv", cfg),
...                         read_queue_log(d + "queue_log", cfg), cfg, "pbx1")
>>> call.outcome, call.answered_by, call.hangup_by, call.sources
('answered', '2002', 'customer', ('cdr', 'cel', 'queue_log'))
"""

from __future__ import annotations

import json
import logging
from typing import Iterable

from callmon.core.config import Config
from callmon.calls.build import build_call
from callmon.sources.files.cdr import CdrRow
from callmon.sources.files.cel import CelRow
from callmon.calls.facts import CallFacts, add_cdr, add_cel
from callmon.calls.grouper import Group, Grouper
from callmon.calls.parties import Parties
from callmon.sources.files.queue_log import QueueLogRow
from callmon.sources.files.source import Reject
from callmon.core.model import Call

log = logging.getLogger(__name__)

TRANSFERS = frozenset({"BLINDTRANSFER", "ATTENDEDTRANSFER"})


class _Rows:
    """The rows of one call so far, by source (a group's ``state``)."""

    __slots__ = ("cdr", "cel", "ql")

    def __init__(self) -> None:
        self.cdr: list[CdrRow] = []
        self.cel: list[CelRow] = []
        self.ql: list[QueueLogRow] = []


def _merge_rows(kept: Group, gone: Group) -> None:
    k, g = kept.state, gone.state
    k.cdr += g.cdr
    k.cel += g.cel
    k.ql += g.ql


def _cel_ids(row: CelRow) -> list[str]:
    ids = [row.uniqueid, row.linkedid] if row.uniqueid != row.linkedid else [row.linkedid]
    if row.eventtype in TRANSFERS and row.extra:
        try:
            extra = json.loads(row.extra)
        except ValueError:
            extra = {}
        if isinstance(extra, dict):
            ids.extend(str(v) for k, v in extra.items() if k.endswith("uniqueid") and v)
    return ids


def dstchannel_keys(row: CdrRow) -> list[str]:
    """Ids naming a record's party B by channel name at the record's start and end second: the
    consultation call of an attended transfer (2001's second channel dialling 2002) has a linkedid
    of its own in Master.csv; only 2002's channel ties it to the call, as party B of the
    consultation's record, which ends at the transfer, and of the transferred caller's next
    record, which starts then (as after a blind transfer: sample_cdr/h_blind_transfer). The
    second keeps apart a name Asterisk gives again after a restart (its counter starts over)."""
    if not row.dstchannel or row.dstchannel.startswith("Local/"):
        return []
    name, end = row.dstchannel, int(row.end)
    return [f"ch:{name}@{int(row.start)}", f"ch:{name}@{end}", f"ch:{name}@{end + 1}"]


def _cdr_ids(row: CdrRow) -> list[str]:
    if row.linkedid:
        ids = [row.uniqueid, row.linkedid] if row.uniqueid and row.uniqueid != row.linkedid else [row.linkedid]
        if row.dstchannel:
            ids.extend(dstchannel_keys(row))
        return ids
    ids = ["ch:" + row.channel]
    if row.uniqueid:
        ids.append(row.uniqueid)
    if row.dstchannel:
        ids.append("ch:" + row.dstchannel)
    return ids


def _ql_ids(row: QueueLogRow) -> list[str]:
    if not row.callid or row.callid == "NONE":
        return []
    if row.event == "CONNECT" and row.data2:
        return [row.callid, row.data2]
    return [row.callid]


class FileCalls:
    """Collects rows of any source and turns each call's rows into a :class:`Call`.

    ``add(rows)`` takes rows of any kind (rejects are ignored); ``pop_ready(before)`` returns the
    calls none of whose rows is later than ``before`` and forgets them (for streaming a large
    file: pass the newest row time seen minus a horizon longer than any call); ``finish()``
    returns every call left. Calls come out in order of arrival. ``parties`` and ``learn`` as
    for :class:`~callmon.calls.tracker.CallTracker`.
    """

    def __init__(self, config: Config, pbx: str | None = None, *, parties: Parties | None = None, learn: bool = True):
        self.config = config
        self.pbx = pbx or config.pbx
        self.parties = parties if parties is not None else Parties(config)
        self.learn = learn
        # the rows go into the group's state by source; the grouper keeps no members of its own
        self._calls: Grouper[None] = Grouper(on_merge=_merge_rows, new_state=_Rows)
        self.skipped = 0  # rows that belong to no call (queue_log NONE lines)

    def add(self, rows: Iterable[CdrRow | CelRow | QueueLogRow | Reject]) -> None:
        place = self._calls.place
        for row in rows:
            kind = type(row)
            if kind is CdrRow:
                place(_cdr_ids(row), row.end).state.cdr.append(row)
            elif kind is CelRow:
                place(_cel_ids(row), row.eventtime).state.cel.append(row)
            elif kind is QueueLogRow:
                ids = _ql_ids(row)
                if ids:
                    place(ids, row.time).state.ql.append(row)
                else:
                    self.skipped += 1

    def pop_ready(self, before: float) -> list[Call]:
        """Calls whose newest row is older than ``before``; they are forgotten here."""
        return self._emit(self._calls.idle(before))

    def finish(self) -> list[Call]:
        """Every call still held."""
        return self._emit(self._calls.groups())

    def _emit(self, groups: list[Group]) -> list[Call]:
        calls = []
        for g in groups:
            self._calls.remove(g)
            call = self._build(g)
            if call is not None:
                calls.append(call)
        calls.sort(key=lambda c: (c.arrived_at if c.arrived_at is not None else float("inf"), c.call_id))
        return calls

    def _build(self, group: Group) -> Call | None:
        facts = CallFacts()
        g = group.state
        name = g.ql[0].callid if g.ql else min((i for i in group.keys if not i.startswith("ch:")), default=None)
        try:
            add_cel(facts, g.cel)
            add_cdr(facts, g.cdr)
            facts.queue_events = g.ql
            if g.ql:
                facts.sources.add("queue_log")
            return build_call(facts, self.config, self.pbx, call_id=name, parties=self.parties, learn=self.learn)
        except Exception:  # one broken call must not stop the import
            log.exception("call %s: could not be built from %d CDR, %d CEL, %d queue_log rows; skipped",
                          name, len(g.cdr), len(g.cel), len(g.ql))
            return None


def calls_from_files(
    cdr_rows: Iterable[CdrRow | Reject] = (),
    cel_rows: Iterable[CelRow | Reject] = (),
    ql_rows: Iterable[QueueLogRow | Reject] = (),
    config: Config | None = None,
    pbx: str | None = None,
    parties: Parties | None = None,
) -> list[Call]:
    """Every call in the rows of one period, from any subset of the three sources."""
    assembler = FileCalls(config or Config(), pbx, parties=parties)
    for rows in (cdr_rows, cel_rows, ql_rows):
        assembler.add(rows)
    return assembler.finish()
