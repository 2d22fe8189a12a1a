"""Calls of a single Master.csv record, built column-wise: the bulk of a large import.

Most calls of a Master.csv are one record (a direct call, a queue call answered by its first
member, an outbound call). For those, :func:`single_record_calls` computes every field of the
call over whole columns (pandas/numpy) by the very definitions :mod:`callmon.calls.facts`
and :mod:`callmon.calls.build` apply to one record, and only makes the frozen records at the
end; it gives the same :class:`~callmon.core.model.Call` as :func:`~callmon.calls.calls_from_files`
(tests compare them on the real samples and on a generated file), at a fraction of the cost.

Records it does not take (a Local channel as party B) are returned for the assembler.

>>> from callmon.core.config import Config
>>> from callmon.sources.files import read_cdr
>>> rows = list(read_cdr("sample_cdr/a_direct_fast_caller_hangs_up/Master.csv", Config(timezone="UTC")))
>>> calls, rest = single_record_calls(rows, Config(), "pbx1")
>>> [(c.outcome, c.answered_by, round(c.ring_seconds, 2)) for c in calls], rest
([('answered', '2001', 2.0)], [])
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from callmon.calls.decide import NO_DID, dial_targets, endpoint_of, outcome_of
from callmon.calls.facts import _FRACTIONS, DISPOSITION_STATUS, REFUSED
from callmon.calls.parties import LONG, SHORT, Parties, Sighting, number_of
from callmon.core.config import Config
from callmon.core.model import SIDES, Call, Leg
from callmon.sources.files.cdr import FIELDS, CdrRow


def _times(f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~callmon.calls.facts.cdr_times` over columns: start, answer (NaN: none), end."""
    start, end = f["start"].to_numpy(float), f["end"].to_numpy(float)
    answer = f["answer"].to_numpy(float)
    duration, billsec = f["duration"].to_numpy(float), f["billsec"].to_numpy(float)
    below_s = duration == end - start
    consistent = below_s | (duration == end - start - 1)
    has_answer = ~np.isnan(answer)
    below_a = billsec == end - answer
    answer_ok = below_a | (billsec == end - answer - 1)
    fs = np.full(len(f), 0.5)
    fa = np.full(len(f), 0.5)
    fe = np.full(len(f), 0.5)
    plain = ~has_answer & consistent
    fs[plain] = np.where(below_s[plain], 1 / 3, 2 / 3)
    fe[plain] = np.where(below_s[plain], 2 / 3, 1 / 3)
    for (bs, ba), (s_, a_, e_) in _FRACTIONS.items():
        sel = has_answer & consistent & answer_ok & (below_s == bs) & (below_a == ba)
        fs[sel], fa[sel], fe[sel] = s_, a_, e_
    return start + fs, answer + fa, end + fe


def single_record_calls(rows: Sequence[CdrRow], config: Config, pbx: str,
                        parties: Parties | None = None) -> tuple[list[Call], list[CdrRow]]:
    """``(calls, rows left)``: one call per record (each record must be its call's only row)."""
    records = SingleRecords(rows, config, pbx, parties)
    return records.calls(), records.rest


class SingleRecords:
    """Records that are each a whole call, as columns: every field of their calls is computed
    here over the columns; :meth:`call` makes the record of one, :meth:`calls` of all.
    ``rest`` holds the records it does not take (a Local channel as party A or B).

    Staff or outside is :class:`~callmon.calls.parties.Parties`' decision on each record's
    sightings, made once per distinct sighting; :meth:`sightings` gives them (with counts) to learn."""

    def __init__(self, rows: Sequence[CdrRow], config: Config, pbx: str, parties: Parties | None = None):
        self.pbx = pbx
        self.rest: list[CdrRow] = []
        self.n = 0
        self._groups: list[tuple[tuple[Sighting, ...], int]] = []  # distinct sightings, how many records
        self._spans: list[tuple[float, float]] = []  # their first and last start
        if rows:
            self._build(pd.DataFrame.from_records(rows, columns=FIELDS), rows.__getitem__, config, parties)

    @classmethod
    def of_columns(cls, columns: dict[str, list], config: Config, pbx: str, parties: Parties | None = None) -> SingleRecords:
        """The same from records given as columns (one list per field of :class:`CdrRow`, as
        :attr:`~callmon.sources.files.Batch.columns`): no row object is made but for :attr:`rest`."""
        records = cls((), config, pbx, parties)
        if columns["linkedid"]:
            fields = [columns[name] for name in FIELDS]
            records._build(_frame(columns), lambda i: CdrRow._make([c[i] for c in fields]), config, parties)
        return records

    def _build(self, f: pd.DataFrame, row_at, config: Config, parties: Parties | None) -> None:
        """Every field over the columns of ``f`` (``row_at(i)``: the :class:`CdrRow` of its row ``i``)."""
        local = np.zeros(len(f), bool)
        for name in ("dstchannel", "channel"):  # pyarrow over the column, not a Python call per name
            local |= pc.starts_with(pa.array(f[name].to_numpy(object), pa.string()), "Local/").to_numpy(zero_copy_only=False)
        self.rest = [row_at(i) for i in np.flatnonzero(local).tolist()]
        if local.any():
            f = f[~local].reset_index(drop=True)
        self.n = len(f)
        if f.empty:
            return
        start, answer, end = _times(f)
        has_b = (f["dstchannel"] != "").to_numpy()
        lastapp = f["lastapp"]
        in_queue = (lastapp == "Queue").to_numpy()
        disposition = f["disposition"]
        status = disposition.map(DISPOSITION_STATUS)  # NaN: unknown
        refused = status.isin(REFUSED).to_numpy()
        answered = (disposition == "ANSWERED").to_numpy() & has_b
        # the caller was answered before the dial (a queue, or an answer not B's): B's ring start is unknown
        pre_answered = in_queue | (~np.isnan(answer) & (disposition != "ANSWERED").to_numpy())
        b_answered_at = np.where(answered & ~pre_answered, answer, np.nan)

        a_end = _endpoints(f["channel"])
        self.b_end = b_end = _endpoints(f["dstchannel"])
        # what each record shows about its endpoints (calls/parties.py): few distinct sightings,
        # each classified once (a record's class is its sightings' class)
        src = f["src"].to_numpy(object)
        src_a = pa.array(src, pa.string())  # pyarrow's regex runs over the column in C++
        own = np.where(_matches(src_a, SHORT.pattern), src, np.where(_matches(src_a, LONG.pattern), _A_LONG, ""))
        own = np.where((f["uniqueid"] == f["linkedid"]).to_numpy() | (f["linkedid"] == "").to_numpy(), own, "")
        self.b_number = _dialled_numbers(lastapp.tolist(), f["lastdata"].tolist(), b_end, f["dst"].tolist())
        b_sig = [_sig(n) for n in self.b_number]
        keys = pd.DataFrame({"a": a_end, "o": own, "b": b_end, "n": b_sig, "q": in_queue})
        groups = keys.groupby(["a", "o", "b", "n", "q"], sort=False)
        self._codes = groups.ngroup().to_numpy()
        self._groups = [(_sightings_of(*k), int(n)) for k, n in groups.size().items()]
        span = pd.DataFrame({"c": self._codes, "t": start}).groupby("c")["t"].agg(["min", "max"])
        self._spans = list(zip(span["min"].tolist(), span["max"].tolist()))
        classify = (parties or Parties(config)).classify
        a_u = [classify(sight[0].endpoint, sight) for sight, _ in self._groups]
        b_u = [classify(sight[1].endpoint, sight) if len(sight) > 1 else None for sight, _ in self._groups]
        codes = self._codes
        a_staff = np.array([c.kind == "staff" for c in a_u], bool)[codes] if a_u else np.zeros(0, bool)
        b_staff = np.array([c is not None and c.kind == "staff" for c in b_u], bool)[codes] if b_u else np.zeros(0, bool)
        b_ext = [c.extension if c is not None else None for c in b_u]
        self.b_extension = [b_ext[k] for k in codes.tolist()]
        direction = np.where(~a_staff, "inbound", np.where(has_b & ~b_staff, "outbound", "internal"))
        outbound = direction == "outbound"
        candidate = has_b & np.where(outbound, ~b_staff, b_staff)
        # a call no phone answered, forwarded to an outside number that answered (decide.first_answer)
        forward = has_b & ~outbound & ~b_staff & answered
        won = (candidate | forward) & answered
        ring_from = (candidate | forward) & ~refused & ~pre_answered
        first_ring = np.where(ring_from, start, np.nan)
        answered_at = np.where(won, b_answered_at, np.nan)
        went_on = ~has_b & ~lastapp.isin(("Dial", "Queue")).to_numpy()
        voicemail = pc.equal(pc.utf8_lower(pa.array(lastapp.to_numpy(object), pa.string())), "voicemail") \
            .to_numpy(zero_copy_only=False)  # decide.is_voicemail_app over the column
        # unanswered: CDR says the dialplan went on (system; in voicemail the caller hangs up) or the
        # caller hung up while it rang
        hangup_system = ~won & went_on & ~voicemail
        caller_hung_up = ~won & ~hangup_system
        refusal = np.where(refused & has_b, status.fillna("").to_numpy(object), "")  # a refusal is B's
        queue = np.where(in_queue, f["lastdata"].str.split(",", n=1).str[0], "")
        # times as columns (NaN: none) and as lists for the records
        self.t_start, self.t_end, self.t_first_ring, self.t_answered = start, end, first_ring, answered_at
        self.t_b_answered = b_answered_at
        self.start, self.end = start.tolist(), end.tolist()
        self.first_ring, self.answered_at, self.b_answered = first_ring.tolist(), answered_at.tolist(), b_answered_at.tolist()
        self.direction, self.won, self.has_b, self.b_staff = direction.tolist(), won.tolist(), has_b.tolist(), b_staff.tolist()
        self.answered, self.refused, self.pre_answered = answered.tolist(), refused.tolist(), pre_answered.tolist()
        self.hangup_system, self.caller_hung_up = hangup_system.tolist(), caller_hung_up.tolist()
        self.voicemail, self.status, self.refusal, self.queue = voicemail.tolist(), status.tolist(), refusal.tolist(), queue.tolist()
        for name in ("linkedid", "channel", "dstchannel", "src", "dst", "uniqueid"):
            setattr(self, name, f[name].tolist())
        # decide.called_of: the outside leg's number on an outbound call; ``s`` is no number
        self.called = [n if d == "outbound" and n else ("" if x == NO_DID else x)
                       for d, n, x in zip(self.direction, self.b_number, self.dst)]
        self.parties = [self._party(i) for i in range(self.n)]

    def _party(self, i: int) -> tuple:
        """``(outcome, answered_by, hangup_by, hangup_channel)`` of record ``i`` (:attr:`parties`)."""
        d = self.direction[i]
        caller_side = SIDES[d][0]
        if self.won[i]:
            if self.b_staff[i]:
                return "answered", self.b_extension[i] or self.b_end[i], None, None
            if d == "outbound":
                return "answered", self.called[i] or self.b_number[i] or self.b_end[i], None, None
            return "answered", self.b_number[i] or self.b_end[i], None, None
        hangup_by, hangup_channel = ("system", None) if self.hangup_system[i] else (caller_side, self.channel[i])
        return outcome_of(False, self.voicemail[i], self.refusal[i] or None, d, hangup_by), None, hangup_by, hangup_channel

    def sightings(self) -> list[tuple[tuple[Sighting, ...], int, float, float]]:
        """The records' evidence for :meth:`Parties.learn`: each distinct tuple of sightings with
        the number of records that showed it and the first and last of their starts."""
        return [(sight, n, first, last) for (sight, n), (first, last) in zip(self._groups, self._spans)]

    def sighting_codes(self) -> list[int]:
        """Each record's index in :meth:`sightings`."""
        return self._codes.tolist()

    def call_id(self, i: int) -> str:
        return self.linkedid[i] or self.uniqueid[i] or self.channel[i]

    def _b_party(self, i: int) -> tuple:
        """Party B of record ``i`` as the legs row's columns from ``uniqueid`` on (record ``i``
        has one), as :func:`~callmon.calls.build._leg` and ``_dial_status`` make it."""
        caller_hung_up = self.caller_hung_up[i] and SIDES[self.direction[i]][0] == self.parties[i][2]
        start, end, status = self.start[i], self.end[i], self.status[i]
        status = status if isinstance(status, str) else None
        refused = self.refused[i]
        ans = _num(self.b_answered[i])
        if self.answered[i]:
            dial_status = "ANSWER"
        elif (status not in (None, "NOANSWER")) or refused:
            dial_status = status
        elif caller_hung_up:
            dial_status = "CANCEL"
        else:
            dial_status = status or "NOANSWER"
        return ("", self.dstchannel[i], self.b_end[i], "staff" if self.b_staff[i] else "outside", start,
                None if refused or self.pre_answered[i] else start,
                None if refused else (ans if ans is not None else end), ans, end, dial_status, None)

    def leg(self, i: int) -> Leg | None:
        """Party B of record ``i`` (None when the record has none)."""
        return Leg(*self._b_party(i)) if self.has_b[i] else None

    def leg_rows(self, pbx: str, call_ids: Sequence[str]) -> list[tuple | None]:
        """The ``legs`` row (:data:`~callmon.storage.store.LEG_COLUMNS`) of each record's party B
        (None: none), as :meth:`leg` and :func:`~callmon.storage.store.leg_row` make it."""
        return [(pbx, call_id, *self._b_party(i)) if self.has_b[i] else None for i, call_id in enumerate(call_ids)]

    def call(self, i: int) -> Call:
        outcome, answered_by, hangup_by, hangup_channel = self.parties[i]
        leg = self.leg(i)
        uid = self.uniqueid[i]
        return Call(
            pbx=self.pbx, call_id=self.call_id(i), direction=self.direction[i], caller=self.src[i], called=self.called[i],
            arrived_at=self.start[i], outcome=outcome, queue=self.queue[i] or None, first_ring_at=_num(self.first_ring[i]),
            answered_at=_num(self.answered_at[i]), ended_at=self.end[i], answered_by=answered_by, answered_leg=None,
            hangup_by=hangup_by, hangup_channel=hangup_channel, transferred=False, incomplete=False,
            legs=(leg,) if leg is not None else (), uniqueids=(uid,) if uid else (), sources=("cdr",),
        )

    def calls(self) -> list[Call]:
        return [self.call(i) for i in range(self.n)]

    def shapes(self) -> list[tuple]:
        """Per record, everything of its call the rules read except who the customer is and when:
        records of one shape get the same score and agent verdicts (times are taken relative to
        the record's start, so a shape is a ring pattern, not a moment)."""
        rel = lambda col: [None if v != v else v for v in (col - self.t_start).tolist()]  # noqa: E731
        first, ans, end, b_ans = rel(self.t_first_ring), rel(self.t_answered), rel(self.t_end), rel(self.t_b_answered)
        return list(zip(
            self.direction, (p[0] for p in self.parties), (p[1] for p in self.parties), (p[2] for p in self.parties),
            (p[3] is not None and p[3] == b for p, b in zip(self.parties, self.dstchannel)),
            (c if d != "inbound" else None for c, d in zip(self.src, self.direction)),
            first, ans, end, b_ans, self.has_b, self.b_end, self.b_staff, self.answered, self.refused,
            self.pre_answered, (s if isinstance(s, str) else None for s in self.status), self.caller_hung_up,
        ))


# the fields _build reads, and those of them it reads as numbers (seconds)
_USED = ("src", "dst", "channel", "dstchannel", "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec",
         "disposition", "uniqueid", "linkedid")
_SECONDS = frozenset(("start", "answer", "end", "duration", "billsec"))


def _frame(columns: dict[str, list]) -> pd.DataFrame:
    """The fields :meth:`SingleRecords._build` reads, as a frame of typed arrays: the times and
    durations as floats (None: NaN), the text as objects. Given lists, pandas would look at every
    value to infer each column's type: five times as long."""
    n = len(columns["linkedid"])
    arrays = {}
    for name in _USED:
        if name in _SECONDS:
            arrays[name] = np.array(columns[name], dtype=float)
        else:
            arrays[name] = text = np.empty(n, dtype=object)
            text[:] = columns[name]
    return pd.DataFrame(arrays, copy=False)


def single_mask(linkedid: Sequence[str], uniqueid: Sequence[str], dstchannel: Sequence[str]) -> list[bool]:
    """Per record (given as columns), is it alone in its call: a record with a linkedid none of
    whose ids another record of the block names, whose party B no other record's party B is
    (the one rule: :func:`~callmon.service.reconcile.single_records` applies it to rows)."""
    ids = Counter(linkedid)
    ids.update(u for u, lid in zip(uniqueid, linkedid) if u and u != lid)
    party_b = Counter(dstchannel)
    return [bool(lid) and ids[lid] == 1 and (not u or u == lid or ids[u] == 1) and (not d or party_b[d] == 1)
            for lid, u, d in zip(linkedid, uniqueid, dstchannel)]


_ENDPOINT = r"^[^/]*/(?P<base>.*)-[0-9a-fA-F]+$"


def _endpoints(channels: pd.Series) -> list[str]:
    """:func:`~callmon.calls.interpret.endpoint_of` of a column of channel names ('' stays '')."""
    names = channels.to_numpy(object)
    # pyarrow's regex runs over the whole column in C++ (pandas' str.extract calls re per name);
    # the names it does not settle (none, another shape, Local/) are read one by one
    column = pa.array(names, pa.string())
    base = pc.extract_regex(column, _ENDPOINT).field("base")
    settled = pc.and_kleene(pc.not_equal(base, ""), pc.invert(pc.starts_with(column, "Local/")))
    out = base.to_pylist()
    for i in np.flatnonzero(~pc.fill_null(settled, False).to_numpy(zero_copy_only=False)).tolist():
        c = names[i]
        v = c.partition("/")[2] if out[i] is None else out[i]
        if not v or "/" not in c or c.startswith("Local/"):
            v = endpoint_of(c) if c else ""
        out[i] = v
    return out


def _num(v: float) -> float | None:
    return None if v != v else v


_A_LONG = "0000000"  # stands for any outside number: Parties only asks whether it is long
_B_LONG = "0000000"


def _sig(number: str) -> str:
    return _B_LONG if number and LONG.match(number) else number


def _dialled_numbers(lastapp: list, lastdata: list, b_end: list, dst: list) -> list[str]:
    """Per record, the number party B was dialled with, as facts.add_cdr reads it: its Dial()
    target's number, else (one target) the extension dialled; '' for none."""
    cache: dict[tuple, str] = {}
    out = []
    for app, data, end, d in zip(lastapp, lastdata, b_end, dst):
        if app != "Dial" or not end:
            out.append("")
            continue
        key = (data, end, d)
        v = cache.get(key)
        if v is None:
            targets = dial_targets(data)
            v = next((n for e, n in targets if e == end and n), "")
            if not v and len(targets) == 1:
                v = d
            v = number_of(v)
            if len(cache) < 100_000:
                cache[key] = v
        out.append(v)
    return out


def _matches(column: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)


def _sightings_of(a_end: str, own: str, b_end: str, b_sig: str, queue: bool) -> tuple[Sighting, ...]:
    a = Sighting(a_end, own_number=own, started=True)
    return (a,) if not b_end else (a, Sighting(b_end, dialled_as=b_sig, queue_member=bool(queue)))
